//! How far a pass is, told by the pass as it goes (records read so far, and the total once known) and
//! followed by whoever shows it: the run's row and its `progress` events (so `syncProgress` moves while
//! a pass runs), or the progress bar of `koppel sync`.

use tokio::sync::watch;

/// One report of a pass: records gone through, and how many there are once that is known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Step {
    pub done: u64,
    pub total: Option<u64>,
}

/// The pass's end of the channel; [`Progress::none`] tells nobody.
#[derive(Debug, Clone, Default)]
pub struct Progress(Option<watch::Sender<Step>>);

impl Progress {
    /// Progress nobody follows (a dry run, a test).
    pub fn none() -> Self {
        Self(None)
    }

    /// Progress to follow; more followers [`Progress::follow`] the same.
    pub fn channel() -> (Self, watch::Receiver<Step>) {
        let (sender, receiver) = watch::channel(Step::default());
        (Self(Some(sender)), receiver)
    }

    /// Another follower, if anyone can follow.
    pub fn follow(&self) -> Option<watch::Receiver<Step>> {
        self.0.as_ref().map(watch::Sender::subscribe)
    }

    pub fn advanced(&self, done: u64, total: Option<u64>) {
        if let Some(sender) = &self.0 {
            sender.send_replace(Step { done, total });
        }
    }
}
