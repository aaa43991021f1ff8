//! What a file is, from its bytes: the content type is sniffed (the `infer` crate's magic numbers),
//! never taken from the client. Refused: markup, which a browser could run as a page in Koppel's origin
//! (HTML, XML, SVG — downloads are also served with `nosniff` and a sandboxing CSP, but such files have
//! no business in a catalogue), and disguised files, whose name promises another type than the bytes are
//! (`conditions.pdf` that is a Windows program).

use crate::problems::{ProblemCode, Problems};

/// What a file was found to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sniffed {
    pub content_type: String,
}

/// What the file is used for: logos must be images a browser shows safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Attachment,
    Logo,
}

/// The image types a logo may be.
pub const LOGO_TYPES: [&str; 4] = ["image/png", "image/jpeg", "image/gif", "image/webp"];

const TEXT: &str = "text/plain";
const UNKNOWN: &str = "application/octet-stream";

/// Extensions of plain text files.
const TEXT_EXTENSIONS: [&str; 5] = ["txt", "csv", "md", "json", "log"];

/// Extensions that promise a type the sniffer knows: a file named so must be that type.
const PROMISING: [&str; 30] = [
    "pdf", "png", "jpg", "jpeg", "gif", "webp", "bmp", "tif", "tiff", "ico", "heic", "avif", "zip", "gz", "7z", "rar",
    "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "rtf", "mp3", "mp4", "exe", "dll",
];

/// Sniffs `bytes` and checks them against `name` and `purpose`; problems go to `field`.
pub fn check(problems: &mut Problems, field: &str, name: &str, bytes: &[u8], purpose: Purpose) -> Option<Sniffed> {
    let found = infer::get(bytes);
    if is_markup(bytes) || found.is_some_and(|t| matches!(t.mime_type(), "text/html" | "text/xml")) {
        problems.add(
            field,
            ProblemCode::NotAnOption,
            format!("{name} is HTML, XML or SVG, which Koppel does not store (a browser could run it)"),
        );
        return None;
    }
    let content_type = match found {
        Some(kind) => kind.mime_type().to_owned(),
        None if is_text(bytes) => TEXT.to_owned(),
        None => UNKNOWN.to_owned(),
    };
    let extension = extension(name);
    let disguised = match (&extension, found) {
        (Some(extension), Some(kind)) => !same_extension(extension, kind.extension()),
        (Some(extension), None) => PROMISING.contains(&extension.as_str()),
        (None, _) => false,
    };
    if disguised {
        problems.add(
            field,
            ProblemCode::Invalid,
            format!(
                "{name} is not what its name says: its content is {content_type}{}",
                found.map(|k| format!(" (.{})", k.extension())).unwrap_or_default()
            ),
        );
        return None;
    }
    if purpose == Purpose::Logo && !LOGO_TYPES.contains(&content_type.as_str()) {
        problems.add(
            field,
            ProblemCode::NotAnOption,
            format!("a logo must be a PNG, JPEG, GIF or WebP image; {name} is {content_type}"),
        );
        return None;
    }
    if content_type == TEXT && extension.as_deref().is_some_and(|e| !TEXT_EXTENSIONS.contains(&e)) {
        // Text under an extension of something else (a script, a page): offered as a plain download.
        return Some(Sniffed { content_type: UNKNOWN.to_owned() });
    }
    Some(Sniffed { content_type })
}

/// The lower-cased extension of a file name, if it has one.
fn extension(name: &str) -> Option<String> {
    let (stem, extension) = name.rsplit_once('.')?;
    (!stem.is_empty() && !extension.is_empty()).then(|| extension.to_ascii_lowercase())
}

fn same_extension(named: &str, sniffed: &str) -> bool {
    let canonical = |e: &str| match e {
        "jpeg" | "jpe" => "jpg".to_owned(),
        "tiff" => "tif".to_owned(),
        other => other.to_owned(),
    };
    canonical(named) == canonical(sniffed)
}

/// Whether the bytes open like markup: `<` first, after a byte-order mark and white space.
fn is_markup(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    let utf16 = bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]);
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace() && *b != 0).map(|i| bytes[i]);
    start == Some(b'<') || (utf16 && bytes.iter().skip(2).find(|b| **b != 0 && !b.is_ascii_whitespace()) == Some(&b'<'))
}

/// Valid UTF-8 without NUL or other control characters than white space.
fn is_text(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(8192)];
    let text = match std::str::from_utf8(sample) {
        Ok(text) => text,
        // The sample may end inside a character.
        Err(error) if error.error_len().is_none() => {
            std::str::from_utf8(&sample[..error.valid_up_to()]).expect("valid up to there")
        }
        Err(_) => return false,
    };
    text.chars().all(|c| !c.is_control() || c.is_whitespace())
}

#[cfg(test)]
pub(crate) mod samples {
    /// The smallest files of each type the tests need.
    pub const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n";
    pub const PNG: &[u8] = &[
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D, b'I', b'H', b'D', b'R', 0, 0, 0, 1, 0, 0, 0, 1,
        8, 6, 0, 0, 0, 0x1F, 0x15, 0xC4, 0x89,
    ];
    pub const EXE: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00";
}

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;

    fn sniff(name: &str, bytes: &[u8], purpose: Purpose) -> Result<String, (String, ProblemCode)> {
        let mut problems = Problems::new();
        match check(&mut problems, "file", name, bytes, purpose) {
            Some(sniffed) => Ok(sniffed.content_type),
            None => {
                let problem = problems.into_problems().remove(0);
                Err((problem.message, problem.code))
            }
        }
    }

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(sniff("conditions.pdf", PDF, Purpose::Attachment), Ok("application/pdf".into()));
        assert_eq!(sniff("CONDITIONS.PDF", PDF, Purpose::Attachment), Ok("application/pdf".into()));
        assert_eq!(sniff("conditions", PDF, Purpose::Attachment), Ok("application/pdf".into()));
        assert_eq!(sniff("logo.png", PNG, Purpose::Logo), Ok("image/png".into()));
        assert_eq!(sniff("tariffs.csv", b"code;amount\nnormal;0.23\n", Purpose::Attachment), Ok("text/plain".into()));
        assert_eq!(sniff("notes", "prijs € 0,23".as_bytes(), Purpose::Attachment), Ok("text/plain".into()));
        assert_eq!(sniff("blob.bin", &[0, 159, 146, 150, 1, 2], Purpose::Attachment), Ok(UNKNOWN.into()));
        assert_eq!(sniff("script.js", b"alert(1)", Purpose::Attachment), Ok(UNKNOWN.into()), "not served as text");
    }

    #[test]
    fn markup_is_refused_however_it_is_named() {
        for (name, bytes) in [
            ("page.html", &b"<!DOCTYPE html><html><script>alert(1)</script></html>"[..]),
            ("conditions.pdf", b"  <html><body onload=alert(1)>"),
            ("logo.png", b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>"),
            ("data.txt", b"\xEF\xBB\xBF<?xml version=\"1.0\"?><a/>"),
            ("feed.xml", b"<?xml version=\"1.0\"?><rss/>"),
        ] {
            let (message, code) = sniff(name, bytes, Purpose::Attachment).unwrap_err();
            assert_eq!(code, ProblemCode::NotAnOption, "{name}");
            assert!(message.contains("HTML, XML or SVG"), "{message}");
        }
    }

    #[test]
    fn disguised_files_are_refused() {
        let (message, code) = sniff("conditions.pdf", EXE, Purpose::Attachment).unwrap_err();
        assert_eq!(code, ProblemCode::Invalid);
        assert!(message.contains("not what its name says"), "{message}");
        assert!(sniff("photo.jpg", PNG, Purpose::Attachment).is_err());
        assert!(sniff("conditions.pdf", b"just some text", Purpose::Attachment).is_err(), "a PDF that is text");
        assert_eq!(
            sniff("photo.jpeg", &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10], Purpose::Attachment),
            Ok("image/jpeg".into())
        );
    }

    #[test]
    fn logos_are_images_only() {
        let (message, code) = sniff("logo.pdf", PDF, Purpose::Logo).unwrap_err();
        assert_eq!(code, ProblemCode::NotAnOption);
        assert!(message.contains("PNG, JPEG, GIF or WebP"), "{message}");
    }
}
