//! Who may talk to a holder: only processes of the holder's own user, checked on every
//! connection with `SO_PEERCRED` (the socket's 0600 mode and its 0700 directory are the first
//! fence; this is the second, and the one that names who was refused in the log).

use std::os::fd::AsFd;

/// The uid of the process at the other end of a connected Unix socket.
pub fn peer_uid(socket: impl AsFd) -> std::io::Result<u32> {
    rustix::net::sockopt::socket_peercred(socket).map(|c| c.uid.as_raw()).map_err(std::io::Error::from)
}

/// Accepts a peer of uid `peer` on a holder run by uid `own`; the error says who was refused.
pub fn check_peer_uid(peer: u32, own: u32) -> Result<(), String> {
    if peer == own { Ok(()) } else { Err(format!("peer uid {peer} is not the holder's uid {own}")) }
}

/// This process's real uid.
pub fn own_uid() -> u32 {
    rustix::process::getuid().as_raw()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_uid_is_accepted() {
        assert!(check_peer_uid(1000, 1000).is_ok());
        let refused = check_peer_uid(1001, 1000).expect_err("another uid");
        assert!(refused.contains("1001"), "{refused}");
        assert!(check_peer_uid(0, 1000).is_err(), "not even root is let in");
    }

    #[test]
    fn a_socket_pair_reports_our_own_uid() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().expect("pair");
        let uid = peer_uid(&a).expect("peercred");
        assert_eq!(uid, own_uid());
        assert!(check_peer_uid(uid, own_uid()).is_ok());
    }
}
