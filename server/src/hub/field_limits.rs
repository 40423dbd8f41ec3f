//! Lengths of the text fields a client can put into a session (titles, worker names, commands,
//! directories). Every field reaches every `/ws/app` client in each `sessions-sync`, so without
//! a bound one client could make the sync too large for everyone else. The bounds are
//! `--max-title-bytes`, `--max-worker-name-bytes`, `--max-command-bytes` and `--max-cwd-bytes`
//! (`ServeConfig`, whose `DEFAULT_MAX_*_BYTES` are the defaults).

use super::HubError;

/// `Ok` when `value` is at most `max` bytes, else the 400 `invalid` naming the field and bound.
pub(crate) fn check(field: &str, value: &str, max: usize) -> Result<(), HubError> {
    if value.len() > max {
        return Err(HubError::Invalid(format!(
            "{field} is {} bytes; at most {max} are accepted",
            value.len()
        )));
    }
    Ok(())
}

/// [`check`] for a whole command line: all arguments together at most `max` bytes.
pub(crate) fn check_command(command: &[String], max: usize) -> Result<(), HubError> {
    let total: usize = command.iter().map(String::len).sum();
    if total > max {
        return Err(HubError::Invalid(format!("the command is {total} bytes; at most {max} are accepted")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{
        DEFAULT_MAX_COMMAND_BYTES as MAX_COMMAND_BYTES, DEFAULT_MAX_TITLE_BYTES as MAX_TITLE_BYTES,
    };

    #[test]
    fn fields_over_their_bound_are_refused_with_the_field_named() {
        assert!(check("title", &"t".repeat(MAX_TITLE_BYTES), MAX_TITLE_BYTES).is_ok());
        let e = check("title", &"t".repeat(MAX_TITLE_BYTES + 1), MAX_TITLE_BYTES).expect_err("long");
        assert!(e.to_string().contains("title is 1025 bytes"), "{e}");
        assert!(check_command(&["a".repeat(MAX_COMMAND_BYTES)], MAX_COMMAND_BYTES).is_ok());
        assert!(check_command(&["a".repeat(MAX_COMMAND_BYTES), "b".into()], MAX_COMMAND_BYTES).is_err());
    }
}
