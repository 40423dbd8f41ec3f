//! Human-friendly flag values: durations (`500ms`, `5s`, `2m`), sizes (`1MiB`), colours
//! (`#1c1c1c`) and cell sizes (`8x16`), parsed for clap and shown back in the same form, so a
//! flag's default is written once (as a constant).

use controlroom_term::Rgb;
use std::time::Duration;

/// A flag value that could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlagValueError {
    /// Not a number followed by a unit.
    #[error("{text:?} is not a duration (try 500ms, 5s, 2m)")]
    NotADuration {
        /// The value as given.
        text: String,
    },
    /// The unit is not `ms`, `s`, `m` or `h`.
    #[error("unknown duration unit {unit:?} in {text:?} (use ms, s, m or h)")]
    DurationUnit {
        /// The unit as given.
        unit: String,
        /// The value as given.
        text: String,
    },
    /// Zero, negative or not finite.
    #[error("{text:?} must be a positive duration")]
    NotPositive {
        /// The value as given.
        text: String,
    },
    /// Not a number followed by a unit.
    #[error("{text:?} is not a size (try 65536, 64KiB, 1MiB)")]
    NotASize {
        /// The value as given.
        text: String,
    },
    /// The unit is not one of the binary units.
    #[error("unknown size unit {unit:?} in {text:?} (use KiB, MiB or GiB)")]
    SizeUnit {
        /// The unit as given.
        unit: String,
        /// The value as given.
        text: String,
    },
    /// More bytes than a `usize` holds.
    #[error("{text:?} is too large")]
    TooLarge {
        /// The value as given.
        text: String,
    },
    /// Zero bytes.
    #[error("{text:?} must be larger than zero")]
    ZeroSize {
        /// The value as given.
        text: String,
    },
    /// Not `#rrggbb`.
    #[error("{text:?} is not a colour (try #1c1c1c)")]
    NotAColour {
        /// The value as given.
        text: String,
    },
    /// Not `WIDTHxHEIGHT` with each 1..=1000.
    #[error("{text:?} is not a cell size in pixels (try 8x16: width x height, each 1 to 1000)")]
    NotACellSize {
        /// The value as given.
        text: String,
    },
}

/// [`duration`], or `0` (turns the feature it sets off).
pub fn duration_or_zero(s: &str) -> Result<Duration, FlagValueError> {
    if s.trim().trim_end_matches(['m', 's', 'h']).parse::<f64>().is_ok_and(|v| v == 0.0) {
        return Ok(Duration::ZERO);
    }
    duration(s)
}

/// Parses `250ms`, `5s`, `2m`, `1h` (a bare number means seconds).
pub fn duration(s: &str) -> Result<Duration, FlagValueError> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let value: f64 = num.parse().map_err(|_| FlagValueError::NotADuration { text: s.to_owned() })?;
    let secs = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(FlagValueError::DurationUnit { unit: other.to_owned(), text: s.to_owned() });
        }
    };
    if !secs.is_finite() || secs <= 0.0 {
        return Err(FlagValueError::NotPositive { text: s.to_owned() });
    }
    Ok(Duration::from_secs_f64(secs))
}

/// Parses `1048576`, `64KiB`, `1MiB`, `2GiB` (also `KB`/`MB`, taken as binary units).
pub fn size(s: &str) -> Result<usize, FlagValueError> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: usize = num.parse().map_err(|_| FlagValueError::NotASize { text: s.to_owned() })?;
    let mult: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => return Err(FlagValueError::SizeUnit { unit: other.to_owned(), text: s.to_owned() }),
    };
    let bytes = value.checked_mul(mult).ok_or_else(|| FlagValueError::TooLarge { text: s.to_owned() })?;
    if bytes == 0 {
        return Err(FlagValueError::ZeroSize { text: s.to_owned() });
    }
    Ok(bytes)
}

/// `d` as [`duration`] reads it back: whole seconds as `30s`, else milliseconds (`5ms`); zero as
/// `0` (which [`duration_or_zero`] reads).
pub fn show_duration(d: Duration) -> String {
    if d.is_zero() {
        "0".to_owned()
    } else if d.subsec_nanos() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// `bytes` as [`size`] reads it back, in the largest binary unit that divides it (`8MiB`).
pub fn show_size(bytes: usize) -> String {
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if bytes != 0 && bytes.is_multiple_of(1 << shift) {
            return format!("{}{unit}", bytes >> shift);
        }
    }
    bytes.to_string()
}

/// Parses a colour `#rrggbb` (the `#` optional).
pub fn colour(s: &str) -> Result<Rgb, FlagValueError> {
    Rgb::from_hex(s.trim()).ok_or_else(|| FlagValueError::NotAColour { text: s.to_owned() })
}

/// `c` as [`colour`] reads it back: `#rrggbb`.
pub fn show_colour(c: Rgb) -> String {
    format!("#{:02x}{:02x}{:02x}", c.r, c.g, c.b)
}

/// Parses a cell size in pixels, `WIDTHxHEIGHT` (e.g. `8x16`), each 1..=1000.
pub fn cell_pixels(s: &str) -> Result<(u16, u16), FlagValueError> {
    let bad = || FlagValueError::NotACellSize { text: s.to_owned() };
    let (w, h) = s.trim().split_once(['x', 'X']).ok_or_else(bad)?;
    let dim = |v: &str| v.trim().parse::<u16>().ok().filter(|n| (1..=1000).contains(n));
    Ok((dim(w).ok_or_else(bad)?, dim(h).ok_or_else(bad)?))
}

/// `(width, height)` as [`cell_pixels`] reads it back: `8x16`.
pub fn show_cell_pixels((width, height): (u16, u16)) -> String {
    format!("{width}x{height}")
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
        assert!(duration("5 parsecs").expect_err("bad unit").to_string().contains("unknown duration unit"));
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
    fn sizes() {
        assert_eq!(size("1MiB"), Ok(1 << 20));
        assert_eq!(size("64KiB"), Ok(64 << 10));
        assert_eq!(size("4096"), Ok(4096));
        assert!(size("0").is_err());
        assert!(size("1 lightyear").is_err());
        assert!(size("99999999999999999999GiB").is_err());
    }

    #[test]
    fn colours_and_cell_sizes() {
        assert_eq!(colour("#1c1c1c"), Ok(Rgb { r: 0x1c, g: 0x1c, b: 0x1c }));
        assert_eq!(colour(" D0d0FF "), Ok(Rgb { r: 0xd0, g: 0xd0, b: 0xff }));
        assert!(colour("#fff").is_err());
        assert!(colour("blue").is_err());
        assert_eq!(show_colour(Rgb { r: 0xd0, g: 0x0a, b: 0xff }), "#d00aff");
        assert_eq!(cell_pixels("8x16"), Ok((8, 16)));
        assert_eq!(cell_pixels("10X20"), Ok((10, 20)));
        assert!(cell_pixels("0x16").is_err());
        assert!(cell_pixels("8").is_err());
        assert!(cell_pixels("8x16x2").is_err());
        assert_eq!(cell_pixels(&show_cell_pixels((9, 18))), Ok((9, 18)));
    }

    #[test]
    fn shown_values_read_back() {
        for d in [Duration::from_secs(30), Duration::from_millis(5), Duration::from_millis(1500)] {
            assert_eq!(duration(&show_duration(d)), Ok(d), "{d:?}");
        }
        assert_eq!(show_duration(Duration::from_secs(60)), "60s");
        assert_eq!(duration_or_zero(&show_duration(Duration::ZERO)), Ok(Duration::ZERO));
        for (bytes, text) in [(8 << 20, "8MiB"), (64 << 10, "64KiB"), (1000, "1000"), (2 << 30, "2GiB")] {
            assert_eq!(show_size(bytes), text);
            assert_eq!(size(text), Ok(bytes));
        }
    }
}
