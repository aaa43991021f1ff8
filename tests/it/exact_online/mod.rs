//! Exact Online end to end (issue 10, seed 002): connecting over OAuth2 (Koppel's callback on its public
//! URL), the tokens' life (refresh when due, single-use refresh tokens, a refresh interrupted by a
//! crash) and the rate limits, Koppel's products pushed as items (`item_push`), over real HTTP to a
//! fake of Exact Online (`fakes::exact_online`) whose behaviour `fake.rs` pins to what
//! `../shared/REMOTES.md` says of the real one.

mod connect;
mod crash;
mod customers;
mod fake;
mod item_push;
mod items;
mod mappings;
mod orders;
mod setup;
mod tokens;
