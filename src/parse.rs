//! Parsers for human-friendly flag values: durations (`500ms`, `5s`, `2m`), sizes (`1MiB`),
//! colours (`#1c1c1c`) and cell sizes (`8x16`).

use controlroom_server::worker::Rgb;
use std::time::Duration;

/// [`duration`], or `0` (turns the feature it sets off).
pub fn duration_or_zero(s: &str) -> Result<Duration, String> {
    if s.trim().trim_end_matches(['m', 's', 'h']).parse::<f64>().is_ok_and(|v| v == 0.0) {
        return Ok(Duration::ZERO);
    }
    duration(s)
}

/// Parses `250ms`, `5s`, `2m`, `1h` (a bare number means seconds).
pub fn duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().map_err(|_| format!("{s:?} is not a duration (try 500ms, 5s, 2m)"))?;
    let secs = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("unknown duration unit {other:?} in {s:?} (use ms, s, m or h)")),
    };
    if !secs.is_finite() || secs <= 0.0 {
        return Err(format!("{s:?} must be a positive duration"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses `1048576`, `64KiB`, `1MiB`, `2GiB` (also `KB`/`MB`, taken as binary units).
pub fn size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: usize = num.parse().map_err(|_| format!("{s:?} is not a size (try 65536, 64KiB, 1MiB)"))?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(format!("unknown size unit {other:?} in {s:?} (use KiB, MiB or GiB)")),
    };
    let bytes = value.checked_mul(mult).ok_or_else(|| format!("{s:?} is too large"))?;
    if bytes == 0 {
        return Err(format!("{s:?} must be larger than zero"));
    }
    Ok(bytes)
}

/// Parses a colour `#rrggbb`.
pub fn rgb(s: &str) -> Result<Rgb, String> {
    Rgb::from_hex(s.trim()).ok_or_else(|| format!("{s:?} is not a colour (try #1c1c1c)"))
}

/// Parses a cell size in pixels, `WIDTHxHEIGHT` (e.g. `8x16`), each 1..=1000.
pub fn cell_pixels(s: &str) -> Result<(u16, u16), String> {
    let bad = || format!("{s:?} is not a cell size in pixels (try 8x16: width x height)");
    let (w, h) = s.trim().split_once(['x', 'X']).ok_or_else(bad)?;
    let dim = |v: &str| v.trim().parse::<u16>().ok().filter(|n| (1..=1000).contains(n));
    Ok((dim(w).ok_or_else(bad)?, dim(h).ok_or_else(bad)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("3"), Ok(Duration::from_secs(3)));
        assert!(duration("0s").is_err());
        assert!(duration("5 parsecs").expect_err("bad unit").contains("unknown duration unit"));
        assert!(duration("soon").is_err());
    }

    #[test]
    fn durations_or_zero() {
        assert_eq!(duration_or_zero("0"), Ok(Duration::ZERO));
        assert_eq!(duration_or_zero("0ms"), Ok(Duration::ZERO));
        assert_eq!(duration_or_zero("2ms"), Ok(Duration::from_millis(2)));
        assert!(duration_or_zero("-1ms").is_err());
        assert!(duration_or_zero("soon").is_err());
    }

    #[test]
    fn colours_and_cell_sizes() {
        assert_eq!(rgb("#1c1c1c"), Ok(Rgb { r: 0x1c, g: 0x1c, b: 0x1c }));
        assert_eq!(rgb(" D0d0FF "), Ok(Rgb { r: 0xd0, g: 0xd0, b: 0xff }));
        assert!(rgb("#fff").is_err());
        assert!(rgb("blue").is_err());
        assert_eq!(cell_pixels("8x16"), Ok((8, 16)));
        assert_eq!(cell_pixels("10X20"), Ok((10, 20)));
        assert!(cell_pixels("0x16").is_err());
        assert!(cell_pixels("8").is_err());
        assert!(cell_pixels("8x16x2").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(size("1MiB"), Ok(1 << 20));
        assert_eq!(size("64KiB"), Ok(64 << 10));
        assert_eq!(size("4096"), Ok(4096));
        assert!(size("0").is_err());
        assert!(size("1 lightyear").is_err());
        assert!(size("99999999999999999999GiB").is_err());
    }
}
