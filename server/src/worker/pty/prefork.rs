//! A program's process made ahead, for a spare holder: a PTY opened and a child forked on it
//! (leading its own session, the PTY its controlling terminal, every signal at its default)
//! before anyone asks for a worker. The child waits on a pipe; a start then only checks the
//! spec, sizes the terminal and writes the child what to exec, so the fork and the child's
//! set-up are no longer part of a new worker's first output. The child execs what it is sent,
//! as [`super::spawn`]'s fork does (a script without `#!` under `/bin/sh`, a failure written on
//! its terminal and exit 127), or ends quietly when the pipe closes unused.

use super::spawn::{
    Exec, IgnoredSignals, Prepared, Spawned, checked, ignored_signals, spawn_error, unblock_all,
};
use crate::worker::{SpawnSpec, WorkerError};
use portable_pty::{MasterPty, PtySize, native_pty_system};
use std::ffi::{CString, OsStr};
use std::io::Write as _;
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

/// The child's descriptor for the pipe it reads its program from.
const LAUNCH_FD: libc::c_int = 3;

/// A child forked on its own PTY, waiting to be told what to exec. Dropped unused, the child is
/// ended and reaped.
pub(crate) struct Preforked {
    master: Option<Box<dyn MasterPty + Send>>,
    pid: u32,
    /// The pipe's write end: the program goes down it, then it closes.
    launch: Option<OwnedFd>,
}

impl std::fmt::Debug for Preforked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Preforked").field("pid", &self.pid).finish_non_exhaustive()
    }
}

impl Preforked {
    /// Opens a PTY (80×24 until a start sizes it) and forks the waiting child. Only for a
    /// single-threaded caller (a holder): the child reads and parses what it is sent, which
    /// allocates, and that is safe after a fork only when no other thread could hold a lock.
    pub(crate) fn new() -> std::io::Result<Self> {
        let size = PtySize { rows: 24, cols: 80, pixel_width: 0, pixel_height: 0 };
        let pair = native_pty_system().openpty(size).map_err(std::io::Error::other)?;
        let tty = pair.master.tty_name().ok_or_else(|| std::io::Error::other("the PTY has no name"))?;
        let tty = CString::new(tty.as_os_str().as_bytes()).map_err(std::io::Error::other)?;
        let (read, write) = pipe()?;
        let ignored = ignored_signals();
        // SAFETY: the caller is single-threaded (see above); the child runs only `child`, which
        // ends in exec or `_exit`.
        #[allow(unsafe_code)]
        let pid = unsafe {
            match libc::fork() {
                -1 => return Err(std::io::Error::last_os_error()),
                0 => child(&tty, read.as_raw_fd(), ignored),
                pid => pid,
            }
        };
        drop(read);
        // The child opened the terminal itself; without dropping ours the master never sees EOF.
        drop(pair.slave);
        Ok(Self {
            master: Some(pair.master),
            pid: u32::try_from(pid).map_err(std::io::Error::other)?,
            launch: Some(write),
        })
    }

    /// The child's pid (the program's, once started).
    #[cfg(test)]
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Whether the child still waits (not ended by a signal meanwhile, say): a start in a child
    /// that is gone would fail for no fault of the spec's. One that is gone is reaped here (and
    /// its pid forgotten: it may be another process's soon).
    pub(crate) fn waiting(&mut self) -> bool {
        let Some(pid) = rustix::process::Pid::from_raw(i32::try_from(self.pid).unwrap_or(0)) else {
            return false;
        };
        match rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::NOHANG) {
            Ok(None) => true,
            _ => {
                self.pid = 0;
                false
            }
        }
    }

    /// Starts `spec`'s program in the child: checked as [`super::spawn_on_pty`] checks it (the
    /// program found, the environment), the terminal sized, then the child told. An error
    /// leaves the child unused (ended when `self` is dropped).
    pub(crate) fn launch(mut self, spec: &SpawnSpec) -> Result<Spawned, WorkerError> {
        let (exe, env) = checked(spec)?;
        let fail = |message: String| spawn_error(spec, message);
        let argv: Vec<&OsStr> = spec.command.iter().map(OsStr::new).collect();
        // The terminal is the child's already.
        let prepared =
            Prepared::new(&exe, &argv, &env, &spec.cwd, Path::new("")).map_err(|e| fail(e.to_string()))?;
        let record = record(&prepared);
        let master = self.master.take().ok_or_else(|| fail("the terminal is gone".into()))?;
        let size = PtySize { rows: spec.rows, cols: spec.cols, pixel_width: 0, pixel_height: 0 };
        master.resize(size).map_err(|e| fail(e.to_string()))?;
        let launch = self.launch.take().ok_or_else(|| fail("the child is gone".into()))?;
        let mut pipe = std::fs::File::from(launch);
        // Written whole and closed: the child reads to the end before it execs.
        pipe.write_all(&record).map_err(|e| fail(format!("telling the child: {e}")))?;
        drop(pipe);
        let pid = self.pid;
        // Started: nothing of the child is ours to end any more.
        self.pid = 0;
        Ok((master, pid))
    }
}

impl Drop for Preforked {
    fn drop(&mut self) {
        drop(self.launch.take());
        if self.pid == 0 {
            return;
        }
        let pid = rustix::process::Pid::from_raw(i32::try_from(self.pid).unwrap_or(0));
        if let Some(pid) = pid {
            // It ends on the closed pipe by itself; the kill only makes that certain.
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::KILL);
            let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
        }
    }
}

/// A pipe, both ends close-on-exec: (read, write).
fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: `pipe2` writes two descriptors into the array, each then owned exactly once.
    #[allow(unsafe_code)]
    unsafe {
        if libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        use std::os::fd::FromRawFd as _;
        Ok((OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])))
    }
}

/// What the child is sent: the length of the rest (8 bytes, little-endian), then NUL-terminated
/// fields: the cwd, the executable, the number of arguments, the arguments, then every
/// `NAME=value` of the environment. The length tells a whole record from one cut short (a holder
/// that died while writing it), which could otherwise end on a field's NUL.
fn record(p: &Prepared) -> Vec<u8> {
    let argc = CString::new(p.argv.len().to_string()).unwrap_or_default();
    let fields = [&p.cwd, &p.exe, &argc].into_iter().chain(&p.argv).chain(&p.env);
    let mut out = vec![0; 8];
    for field in fields {
        out.extend_from_slice(field.as_bytes_with_nul());
    }
    let body = (out.len() - 8) as u64;
    out[..8].copy_from_slice(&body.to_le_bytes());
    out
}

/// [`record`] read back (with no terminal: the child opened its own); `None` when it is not
/// one (it never is, but the child must not exec half of one).
fn parse(record: &[u8]) -> Option<Prepared> {
    let (len, body) = record.split_first_chunk::<8>()?;
    if u64::from_le_bytes(*len) != body.len() as u64 {
        return None;
    }
    let body = body.strip_suffix(&[0])?;
    let mut fields = body.split(|b| *b == 0).map(|f| CString::new(f).ok());
    let cwd = fields.next()??;
    let exe = fields.next()??;
    let argc: usize = fields.next()??.to_str().ok()?.parse().ok()?;
    let argv = fields.by_ref().take(argc).collect::<Option<Vec<_>>>()?;
    if argv.len() != argc {
        return None;
    }
    let env = fields.collect::<Option<Vec<_>>>()?;
    Some(Prepared { exe, argv, env, cwd, tty: CString::default() })
}

/// The forked child: sets itself up on the terminal, waits for its program and execs it.
#[allow(unsafe_code)]
fn child(tty: &CString, launch: libc::c_int, ignored: IgnoredSignals) -> ! {
    // SAFETY: a single-threaded parent's fresh child; every call gets valid pointers, and this
    // ends in exec or `_exit`.
    unsafe {
        libc::setsid();
        // Not O_NOCTTY: the new session's controlling terminal.
        let fd = libc::open(tty.as_ptr(), libc::O_RDWR);
        if fd < 0 {
            libc::_exit(127);
        }
        for target in 0..3 {
            libc::dup2(fd, target);
        }
        // The pipe at a known number (dup2 clears its close-on-exec), everything else closed.
        libc::dup2(launch, LAUNCH_FD);
        libc::close_range(LAUNCH_FD as libc::c_uint + 1, libc::c_uint::MAX, 0);
        ignored.reset();
        unblock_all();
        let mut record = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = libc::read(LAUNCH_FD, buf.as_mut_ptr().cast(), buf.len());
            match n {
                0 => break,
                n if n > 0 => record.extend_from_slice(&buf[..n.unsigned_abs()]),
                _ if *libc::__errno_location() == libc::EINTR => {}
                _ => libc::_exit(0),
            }
        }
        libc::close(LAUNCH_FD);
        // Closed unused: no worker came for this spare.
        let Some(prepared) = parse(&record) else { libc::_exit(0) };
        Exec::new(prepared).run()
    }
}

// The test harness is threaded, unlike a holder: this relies on glibc's `fork`, which leaves
// its allocator usable in the child (the only lock the child's parse takes).
#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn spec(command: Vec<String>, cwd: &Path, cols: u16) -> SpawnSpec {
        SpawnSpec {
            key: String::new(),
            command,
            cwd: cwd.to_path_buf(),
            env: [("X_PREFORK".to_owned(), "here".to_owned())].into(),
            cols,
            rows: 24,
            activity: None,
            offset: 0,
        }
    }

    /// Everything the program printed until it ended, and its wait status.
    fn run(started: Spawned) -> (String, i32) {
        let (master, pid) = started;
        let mut reader = master.try_clone_reader().expect("reader");
        let mut out = Vec::new();
        let _ = std::io::Read::read_to_end(&mut reader, &mut out);
        let pid = rustix::process::Pid::from_raw(i32::try_from(pid).expect("pid")).expect("pid");
        let status = crate::worker::pty::waitpid(pid).expect("reaped");
        (String::from_utf8_lossy(&out).into_owned(), status)
    }

    #[test]
    fn a_record_reads_back_with_empty_arguments_kept() {
        let env = [("A".into(), "1".into()), ("EMPTY".into(), "".into())];
        let argv = [OsStr::new("sh"), OsStr::new("-c"), OsStr::new("")];
        let prepared = Prepared::new(Path::new("/bin/sh"), &argv, &env, Path::new("/tmp"), Path::new(""))
            .expect("prepared");
        let r = record(&prepared);
        let back = parse(&r).expect("parses");
        assert_eq!((back.cwd.to_bytes(), back.exe.to_bytes()), (&b"/tmp"[..], &b"/bin/sh"[..]));
        assert_eq!(back.argv.iter().map(|a| a.to_bytes()).collect::<Vec<_>>(), [&b"sh"[..], b"-c", b""]);
        assert_eq!(back.env.iter().map(|v| v.to_bytes()).collect::<Vec<_>>(), [&b"A=1"[..], b"EMPTY="]);
        assert!(parse(&r[..r.len() - 1]).is_none(), "cut short");
        let cut_at_a_field = r.len() - "EMPTY=\0".len();
        assert_eq!(r[cut_at_a_field - 1], 0, "the cut ends on a field's NUL");
        assert!(parse(&r[..cut_at_a_field]).is_none(), "cut short at a field's end");
        let fields = b"/t\0/b\x003\0sh\0";
        let mut short = (fields.len() as u64).to_le_bytes().to_vec();
        short.extend_from_slice(fields);
        assert!(parse(&short).is_none(), "fewer arguments than it says");
    }

    #[test]
    fn the_program_runs_as_a_forked_start_would_run_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let script = dir.path().join("script");
        // Without `#!`: the shell runs it.
        std::fs::write(
            &script,
            "read -r _ _ _ _ _ sid ctty _ < /proc/$$/stat; \
             echo \"pid=$$ sid=$sid ctty=$ctty cwd=$(pwd) arg=$1 x=$X_PREFORK size=$(stty size)\"; \
             grep -E '^Sig(Ign|Blk)' /proc/self/status\n",
        )
        .expect("script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let pre = Preforked::new().expect("forked");
        let pid = pre.pid();
        let command = vec![script.to_string_lossy().into_owned(), "arg-one".into()];
        let (out, status) = run(pre.launch(&spec(command, dir.path(), 93)).expect("started"));
        assert_eq!(status, 0, "{out}");
        let cwd = std::fs::canonicalize(dir.path()).expect("cwd");
        assert!(out.contains(&format!("pid={pid} sid={pid} ctty=")) && !out.contains("ctty=0 "), "{out}");
        assert!(out.contains(&format!("cwd={} arg=arg-one x=here size=24 93", cwd.display())), "{out}");
        assert!(
            out.contains("SigIgn:\t0000000000000000") && out.contains("SigBlk:\t0000000000000000"),
            "{out}"
        );
    }

    #[test]
    fn a_program_that_is_missing_fails_before_the_child_is_told_and_the_child_is_reaped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pre = Preforked::new().expect("forked");
        let pid = pre.pid();
        let Err(err) = pre.launch(&spec(vec!["./missing".into()], dir.path(), 80)) else {
            panic!("a missing program is refused")
        };
        assert!(err.to_string().contains("does not exist"), "{err}");
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "the unused child is gone, reaped");
        let mut unused = Preforked::new().expect("forked");
        let pid = unused.pid();
        assert!(unused.waiting());
        drop(unused);
        assert!(!Path::new(&format!("/proc/{pid}")).exists(), "dropped unused: gone, reaped");
    }

    #[test]
    fn a_child_killed_while_it_waits_is_seen_gone() {
        let mut pre = Preforked::new().expect("forked");
        let pid = rustix::process::Pid::from_raw(i32::try_from(pre.pid()).expect("pid")).expect("pid");
        rustix::process::kill_process(pid, rustix::process::Signal::KILL).expect("kill");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while pre.waiting() {
            assert!(std::time::Instant::now() < deadline, "still seen waiting");
            std::thread::yield_now();
        }
        assert_eq!(pre.pid(), 0, "reaped, and its pid forgotten");
    }

    #[test]
    fn a_failed_exec_is_written_on_the_terminal_and_exits_127() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pre = Preforked::new().expect("forked");
        // The program is found (an absolute path), but its cwd is not there for the child.
        let launched =
            pre.launch(&spec(vec!["/bin/true".into()], &dir.path().join("gone"), 80)).expect("told");
        let (out, status) = run(launched);
        assert_eq!(libc::WEXITSTATUS(status), 127, "{out}");
        assert!(out.contains("controlroom: could not start /bin/true: No such file or directory"), "{out}");
    }
}
