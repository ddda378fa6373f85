//! QR codes as small SVG pictures (the `qrcodegen` crate encodes), and the
//! text of the standard Wi-Fi QR code phones' cameras offer to join.

use crate::error::{Code, Error, Result};
use qrcodegen::{QrCode, QrCodeEcc};
use std::fmt::Write;

/// Light modules around the code, as the QR standard asks for scanning.
const QUIET_ZONE: i32 = 4;

/// The QR code of `text` as an SVG document of one `<path>`: each run of
/// dark modules in a row is one rectangle, so a table's link costs about
/// 4 KB rather than 20 KB of a rectangle per module. Medium error correction
/// survives a creased or splashed print.
pub fn svg(text: &str) -> Result<String> {
    let code = QrCode::encode_text(text, QrCodeEcc::Medium)
        .map_err(|_| Error::bad(Code::FieldTooLong).with("field", "qr"))?;
    let size = code.size();
    let side = size + 2 * QUIET_ZONE;
    let mut path = String::with_capacity(4096);
    for y in 0..size {
        let mut x = 0;
        while x < size {
            if !code.get_module(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while x < size && code.get_module(x, y) {
                x += 1;
            }
            let run = x - start;
            let _ = write!(
                path,
                "M{} {}h{run}v1h-{run}z",
                start + QUIET_ZONE,
                y + QUIET_ZONE
            );
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" \
         shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/>\
         <path d=\"{path}\"/></svg>"
    ))
}

/// The Wi-Fi QR text (`WIFI:T:nopass;S:…;;`, or WPA with `P:` when the
/// network has a password), with `\ ; , : "` escaped by a backslash as
/// the format asks.
pub fn wifi_text(ssid: &str, password: Option<&str>) -> String {
    let escape = |text: &str| {
        let mut out = String::with_capacity(text.len());
        for c in text.chars() {
            if matches!(c, '\\' | ';' | ',' | ':' | '"') {
                out.push('\\');
            }
            out.push(c);
        }
        out
    };
    match password.filter(|p| !p.is_empty()) {
        Some(password) => format!("WIFI:T:WPA;S:{};P:{};;", escape(ssid), escape(password)),
        None => format!("WIFI:T:nopass;S:{};;", escape(ssid)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wifi_text_escapes_the_specials() {
        assert_eq!(
            wifi_text("Food Court", None),
            "WIFI:T:nopass;S:Food Court;;"
        );
        assert_eq!(
            wifi_text("Food Court", Some("")),
            "WIFI:T:nopass;S:Food Court;;"
        );
        assert_eq!(
            wifi_text(r#"a;b,c:d"e\f"#, Some("p;w:d")),
            r#"WIFI:T:WPA;S:a\;b\,c\:d\"e\\f;P:p\;w\:d;;"#
        );
        assert_eq!(wifi_text("Café ☕", None), "WIFI:T:nopass;S:Café ☕;;");
    }

    #[test]
    fn the_svg_is_one_path_of_the_codes_dark_modules() {
        let text = "http://order.lan/t/abc234?s=0123456789abcdef0123456789abcdef";
        let svg = svg(text).unwrap();
        assert_eq!(svg.matches("<path").count(), 1);
        assert!(!svg.contains("<rect x"));
        // The runs drawn cover exactly the dark modules.
        let code = QrCode::encode_text(text, QrCodeEcc::Medium).unwrap();
        let dark = (0..code.size())
            .flat_map(|y| (0..code.size()).map(move |x| (x, y)))
            .filter(|&(x, y)| code.get_module(x, y))
            .count();
        let d = svg.split("d=\"").nth(1).unwrap().split('"').next().unwrap();
        let drawn: usize = d
            .split('M')
            .skip(1)
            .map(|run| {
                run[run.find('h').unwrap() + 1..run.find('v').unwrap()]
                    .parse::<usize>()
                    .unwrap()
            })
            .sum();
        assert_eq!(drawn, dark);
        assert!(svg.len() < 6000, "{}", svg.len());
        assert!(super::svg(&"x".repeat(3000)).is_err());
    }
}
