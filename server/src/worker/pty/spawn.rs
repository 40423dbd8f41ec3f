//! Starting a program on a new PTY. The program leads its own session with the PTY as its
//! controlling terminal (`setsid`, then the terminal opened by name, which makes it the
//! session's terminal), every signal at its default and none blocked, and only descriptors 0–2
//! open. In the gateway's own process (threads) with `posix_spawn` (glibc's is a
//! `clone(CLONE_VM | CLONE_VFORK)`: no copy of the caller's page tables, the caller suspended
//! only until the program's exec succeeded or failed); in a holder (one thread, a small
//! address space) with a `fork` it does not wait on, so the holder's answer to the gateway never
//! waits for the child to be scheduled (`Start`).
//!
//! Why not `std::process::Command` with a `pre_exec` (what portable-pty's `spawn_command` does):
//! a `pre_exec` makes std fork (copying the caller's page tables: in the gateway, a multi-MiB
//! address space) and wait for the child to report on a pipe, which portable-pty's own clean-up
//! closed early; in a holder that wait was for the child to be scheduled, the longest step of a
//! new worker's start on a loaded machine (BENCHMARKS.md, issue 17; a vfork-style spawn still
//! waits for the child to run, hence the fork in holders). With `posix_spawn` an exec failure is
//! the caller's error (portable-pty's early close lost it: the program just exited 127, as it
//! still does after a holder's fork, with the reason on its terminal).

use crate::worker::{SpawnSpec, WorkerError};
use portable_pty::{MasterPty, PtySize, native_pty_system};
use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::{OsStrExt as _, OsStringExt as _};
use std::path::{Path, PathBuf};

/// A program started on a new PTY: the master side and the program's pid (its process group
/// and session id too).
pub(crate) type Spawned = (Box<dyn MasterPty + Send>, u32);

/// How a program is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// `posix_spawn`: returns once the exec succeeded or failed (its error is the start's).
    /// Safe in a multi-threaded process (the gateway's own PTYs).
    Spawn,
    /// `fork` without waiting: returns as soon as the child exists, so the caller's answer does
    /// not wait for the child to be scheduled; an exec failure shows on the program's terminal
    /// and it exits 127 (as portable-pty's start did). Single-threaded callers only: the holder.
    Fork,
}

/// Opens a PTY of `spec`'s size and starts `spec`'s program on it, leading its own session;
/// shared by the in-process backend and the holder process, so both start programs alike
/// (checked the same way first: the program found, the cwd, the environment).
pub(crate) fn spawn_on_pty(spec: &SpawnSpec, how: Start) -> Result<Spawned, WorkerError> {
    let (exe, env) = checked(spec)?;
    let fail = |message: String| spawn_error(spec, message);
    let size = PtySize { rows: spec.rows, cols: spec.cols, pixel_width: 0, pixel_height: 0 };
    let pair = native_pty_system().openpty(size).map_err(|e| fail(e.to_string()))?;
    let tty = pair.master.tty_name().ok_or_else(|| fail("the PTY has no name".into()))?;
    let argv: Vec<&OsStr> = spec.command.iter().map(OsStr::new).collect();
    let prepared = Prepared::new(&exe, &argv, &env, &spec.cwd, &tty).map_err(|e| fail(e.to_string()))?;
    let spawned = match how {
        Start::Fork => fork_exec(prepared),
        Start::Spawn => match posix_spawn(&prepared) {
            // A script without a `#!` line: run by the shell, as execvp (and so portable-pty) did.
            Err(e) if e.raw_os_error() == Some(libc::ENOEXEC) => posix_spawn(&prepared.by_shell()),
            other => other,
        },
    };
    let pid = spawned.map_err(|e| fail(e.to_string()))?;
    // The program opened the terminal itself; without dropping ours the master never sees EOF.
    drop(pair.slave);
    Ok((pair.master, pid))
}

/// What every start checks first: the program found (in the environment's `PATH` for a bare
/// name), with the environment it gets.
pub(super) fn checked(spec: &SpawnSpec) -> Result<(PathBuf, Vec<(OsString, OsString)>), WorkerError> {
    let Some(program) = spec.command.first() else {
        return Err(WorkerError::Invalid("command must not be empty".into()));
    };
    let env = environment(&spec.env);
    let path_var = env.iter().find(|(k, _)| k == "PATH").map(|(_, v)| v.clone());
    let exe = resolve(Path::new(program), &spec.cwd, path_var.as_deref())
        .map_err(|message| spawn_error(spec, message))?;
    Ok((exe, env))
}

/// A start of `spec` that failed, and why.
pub(super) fn spawn_error(spec: &SpawnSpec, message: String) -> WorkerError {
    WorkerError::Spawn { command: spec.command.join(" "), message }
}

/// The program's environment: the caller's, without the gateway's secrets (the owner token in
/// `CONTROLROOM_TOKEN` must not reach a shell whose screen read-only viewers can see; a holder
/// inherits the gateway's environment, so this holds in both), `TERM`, `SHELL` when unset (as
/// portable-pty set it), then `extra`.
fn environment(extra: &std::collections::BTreeMap<String, String>) -> Vec<(OsString, OsString)> {
    let mut env: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| !k.to_str().is_some_and(crate::worker::env::is_gateway_secret))
        .collect();
    let mut set = |k: &str, v: &OsStr| {
        env.retain(|(name, _)| name != k);
        env.push((k.into(), v.into()));
    };
    set("TERM", OsStr::new("xterm-256color"));
    if std::env::var_os("SHELL").is_none_or(|s| s.is_empty()) {
        set("SHELL", OsStr::new(DEFAULT_SHELL));
    }
    for (k, v) in extra {
        set(k, OsStr::new(v));
    }
    env
}

/// The shell that runs an executable file the kernel cannot (a script without `#!`).
const SCRIPT_SHELL: &std::ffi::CStr = c"/bin/sh";

/// `SHELL` for a program whose gateway has none set.
const DEFAULT_SHELL: &str = "/bin/sh";

/// The executable `program` names: a path with a slash as it is (relative to `cwd`), a bare
/// name searched in `path` (each directory relative to `cwd`). The reason when there is none,
/// worded for a client (never listing the gateway's `PATH`, which names its user's directories).
pub(crate) fn resolve(program: &Path, cwd: &Path, path: Option<&OsStr>) -> Result<PathBuf, String> {
    if program.as_os_str().as_bytes().contains(&b'/') {
        let exe = cwd.join(program);
        return match check(&exe) {
            Candidate::Runs => Ok(exe),
            Candidate::Directory => Err("it is a directory".into()),
            Candidate::NotExecutable => Err("it is not executable".into()),
            Candidate::Missing => Err("it does not exist".into()),
        };
    }
    let mut reasons = Vec::new();
    for dir in path.map(std::env::split_paths).into_iter().flatten() {
        let exe = cwd.join(dir).join(program);
        match check(&exe) {
            Candidate::Runs => return Ok(exe),
            Candidate::Directory => reasons.push(format!("{} exists but is a directory", exe.display())),
            Candidate::NotExecutable => {
                reasons.push(format!("{} exists but is not executable", exe.display()));
            }
            Candidate::Missing => {}
        }
    }
    reasons.push("not found in PATH".into());
    Err(reasons.join("; "))
}

/// What a candidate path is.
enum Candidate {
    Runs,
    Directory,
    NotExecutable,
    Missing,
}

fn check(exe: &Path) -> Candidate {
    match std::fs::metadata(exe) {
        Err(_) => Candidate::Missing,
        Ok(m) if m.is_dir() => Candidate::Directory,
        // `access` answers for this process's real ids, as the kernel's exec check would.
        Ok(_) if rustix::fs::access(exe, rustix::fs::Access::EXEC_OK).is_ok() => Candidate::Runs,
        Ok(_) => Candidate::NotExecutable,
    }
}

fn cstring(bytes: &[u8]) -> std::io::Result<CString> {
    CString::new(bytes).map_err(|_| std::io::Error::other("an argument or variable holds a NUL byte"))
}

/// Everything a start hands the kernel, as C strings and NUL-terminated pointer arrays, made
/// before any process is created (a forked child allocates nothing).
pub(super) struct Prepared {
    pub(super) exe: CString,
    pub(super) argv: Vec<CString>,
    /// `NAME=value` each.
    pub(super) env: Vec<CString>,
    pub(super) cwd: CString,
    pub(super) tty: CString,
}

impl Prepared {
    pub(super) fn new(
        exe: &Path,
        argv: &[&OsStr],
        env: &[(OsString, OsString)],
        cwd: &Path,
        tty: &Path,
    ) -> std::io::Result<Self> {
        let env = env
            .iter()
            .map(|(k, v)| {
                let mut kv = k.clone().into_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                cstring(&kv)
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            exe: cstring(exe.as_os_str().as_bytes())?,
            argv: argv.iter().map(|a| cstring(a.as_bytes())).collect::<Result<_, _>>()?,
            env,
            cwd: cstring(cwd.as_os_str().as_bytes())?,
            tty: cstring(tty.as_os_str().as_bytes())?,
        })
    }

    /// The same start run by [`SCRIPT_SHELL`] (a script without `#!`, as execvp runs it).
    fn by_shell(&self) -> Self {
        let mut argv = vec![CString::from(SCRIPT_SHELL), self.exe.clone()];
        argv.extend(self.argv.iter().skip(1).cloned());
        Self {
            exe: SCRIPT_SHELL.into(),
            argv,
            env: self.env.clone(),
            cwd: self.cwd.clone(),
            tty: self.tty.clone(),
        }
    }
}

/// A NUL-terminated array of pointers into `strings` (which must outlive it).
fn pointers(strings: &[CString]) -> Vec<*mut libc::c_char> {
    strings.iter().map(|s| s.as_ptr().cast_mut()).chain(std::iter::once(std::ptr::null_mut())).collect()
}

/// Starts the program with `posix_spawn`: leading a new session whose controlling terminal is
/// the PTY; its pid once its exec succeeded, or the exec's error.
#[allow(unsafe_code)]
fn posix_spawn(p: &Prepared) -> std::io::Result<u32> {
    let (argv, env) = (pointers(&p.argv), pointers(&p.env));
    let check = |rc: libc::c_int| if rc == 0 { Ok(()) } else { Err(std::io::Error::from_raw_os_error(rc)) };
    // SAFETY: the attribute and file-action objects are initialised before use and destroyed
    // once (their guards); every pointer handed to glibc points into `p` or the pointer arrays
    // above, which live until `posix_spawn` has returned, by which time the child has exec'd or
    // failed (glibc's posix_spawn waits for that).
    unsafe {
        let mut attr: libc::posix_spawnattr_t = std::mem::zeroed();
        check(libc::posix_spawnattr_init(&raw mut attr))?;
        let mut attr = Guard(attr, libc::posix_spawnattr_destroy);
        let mut actions: libc::posix_spawn_file_actions_t = std::mem::zeroed();
        check(libc::posix_spawn_file_actions_init(&raw mut actions))?;
        let mut actions = Guard(actions, libc::posix_spawn_file_actions_destroy);
        let (attr, actions) = (&raw mut attr.0, &raw mut actions.0);
        let flags = libc::POSIX_SPAWN_SETSID
            | (libc::POSIX_SPAWN_SETSIGDEF | libc::POSIX_SPAWN_SETSIGMASK) as libc::c_short;
        check(libc::posix_spawnattr_setflags(attr, flags))?;
        // Every signal at its default (the gateway ignores SIGPIPE, a holder's parent may have
        // ignored SIGHUP), none blocked.
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&raw mut all);
        check(libc::posix_spawnattr_setsigdefault(attr, &raw const all))?;
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut none);
        check(libc::posix_spawnattr_setsigmask(attr, &raw const none))?;
        // After `setsid` (glibc applies the flags first): opening the terminal without
        // O_NOCTTY makes it the new session's controlling terminal.
        check(libc::posix_spawn_file_actions_addopen(actions, 0, p.tty.as_ptr(), libc::O_RDWR, 0))?;
        check(libc::posix_spawn_file_actions_adddup2(actions, 0, 1))?;
        check(libc::posix_spawn_file_actions_adddup2(actions, 0, 2))?;
        // Descriptors the caller inherited without close-on-exec stay out of the program.
        check(libc::posix_spawn_file_actions_addclosefrom_np(actions, 3))?;
        check(libc::posix_spawn_file_actions_addchdir_np(actions, p.cwd.as_ptr()))?;
        let mut pid: libc::pid_t = 0;
        check(libc::posix_spawn(&raw mut pid, p.exe.as_ptr(), actions, attr, argv.as_ptr(), env.as_ptr()))?;
        u32::try_from(pid).map_err(std::io::Error::other)
    }
}

/// Starts the program in a forked child and returns at once, without waiting for its exec:
/// the child does what [`posix_spawn`] asks glibc to, then execs (a script without `#!` under
/// [`SCRIPT_SHELL`]); an exec that fails is written on the program's terminal and the child
/// exits 127. Only for a single-threaded caller (the holder): a fork of a threaded process may
/// only call async-signal-safe functions, and copies the page tables of its whole memory.
#[allow(unsafe_code)]
fn fork_exec(p: Prepared) -> std::io::Result<u32> {
    let exec = Exec::new(p);
    let ignored = ignored_signals();
    // SAFETY: the caller is single-threaded, so the child may call any function; it only
    // calls libc with pointers into `exec` (made before the fork, so the child allocates
    // nothing), and ends in exec or `_exit`.
    unsafe {
        match libc::fork() {
            -1 => Err(std::io::Error::last_os_error()),
            0 => {
                libc::setsid();
                // Not O_NOCTTY: the new session's controlling terminal.
                let fd = libc::open(exec.p.tty.as_ptr(), libc::O_RDWR);
                if fd < 0 {
                    libc::_exit(127);
                }
                for target in 0..3 {
                    libc::dup2(fd, target);
                }
                libc::close_range(3, libc::c_uint::MAX, 0);
                // The exec resets caught signals itself; an ignored one it would pass on.
                ignored.reset();
                unblock_all();
                exec.run()
            }
            pid => u32::try_from(pid).map_err(std::io::Error::other),
        }
    }
}

/// Unblocks every signal (async-signal-safe: for a forked child).
#[allow(unsafe_code)]
pub(super) fn unblock_all() {
    // SAFETY: an empty set, made and handed over on this stack.
    unsafe {
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&raw mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &raw const none, std::ptr::null_mut());
    }
}

/// A start ready for a forked child to exec: the program, the same under [`SCRIPT_SHELL`] for
/// a script without `#!`, every pointer array and the failure's words made ahead (the child
/// allocates nothing for it).
pub(super) struct Exec {
    p: Prepared,
    shell: Prepared,
    argv: Vec<*mut libc::c_char>,
    env: Vec<*mut libc::c_char>,
    shell_argv: Vec<*mut libc::c_char>,
    prefix: String,
}

impl Exec {
    pub(super) fn new(p: Prepared) -> Self {
        let shell = p.by_shell();
        let (argv, env, shell_argv) = (pointers(&p.argv), pointers(&p.env), pointers(&shell.argv));
        let prefix = format!("controlroom: could not start {}: ", p.exe.to_string_lossy());
        Self { p, shell, argv, env, shell_argv, prefix }
    }

    /// In the child: into the program's cwd, then the exec (a script without `#!` under the
    /// shell); on a failure, why on stderr (the program's terminal) and exit 127.
    #[allow(unsafe_code)]
    pub(super) fn run(&self) -> ! {
        // SAFETY: every pointer points into `self` (the strings outlive the arrays), and this
        // ends in exec or `_exit`.
        unsafe {
            if libc::chdir(self.p.cwd.as_ptr()) == 0 {
                libc::execve(self.p.exe.as_ptr(), self.argv.as_ptr().cast(), self.env.as_ptr().cast());
                if *libc::__errno_location() == libc::ENOEXEC {
                    let shell = self.shell.exe.as_ptr();
                    libc::execve(shell, self.shell_argv.as_ptr().cast(), self.env.as_ptr().cast());
                }
            }
            let why = libc::strerror(*libc::__errno_location());
            libc::write(2, self.prefix.as_ptr().cast(), self.prefix.len());
            libc::write(2, why.cast(), libc::strlen(why));
            libc::write(2, c"\r\n".as_ptr().cast(), 2);
            libc::_exit(127)
        }
    }
}

/// The signals this process ignores: `SIG_IGN` outlives an exec (a handler does not), so a
/// program started by [`Start::Fork`] (or forked ahead, `prefork`) gets each set back to its
/// default. Read from the kernel here, a system call per signal, by the parent before it forks
/// (a spare holder, ahead of any start). Not kept in a static: writing one would dirty a page of
/// the binary's data in every idle holder.
///
/// Read and reset with the system call itself, not glibc's `sigaction`, which refuses glibc's own
/// two signals (32 and 33): its `posix_spawn` leaves them ignored in a process started from a
/// threaded one (the gateway starting a holder), and a program would inherit that.
pub(super) fn ignored_signals() -> IgnoredSignals {
    let mask = (1..=libc::SIGRTMAX().min(64)).fold(0, |mask, sig| {
        let mut now = KernelSigaction::default();
        // SAFETY: reads the disposition into a buffer the kernel's struct fits in.
        #[allow(unsafe_code)]
        let read = unsafe {
            libc::syscall(libc::SYS_rt_sigaction, sig, std::ptr::null::<KernelSigaction>(), &raw mut now, 8)
        };
        if read == 0 && now.0[0] == libc::SIG_IGN as u64 { mask | 1 << (sig - 1) } else { mask }
    });
    IgnoredSignals(mask)
}

/// Signals 1 to 64 a process ignores, bit `n - 1` for signal `n` (as `/proc/PID/status` shows).
#[derive(Debug, Clone, Copy)]
pub(super) struct IgnoredSignals(u64);

impl IgnoredSignals {
    /// Whether `sig` is one of them.
    #[cfg(test)]
    fn contains(self, sig: libc::c_int) -> bool {
        (1..=64).contains(&sig) && self.0 & 1 << (sig - 1) != 0
    }

    /// Sets each back to its default (async-signal-safe: for a forked child).
    pub(super) fn reset(self) {
        for sig in 1..=64 {
            if self.0 & 1 << (sig - 1) != 0 {
                // SAFETY: an all-zero kernel sigaction for a valid signal number.
                #[allow(unsafe_code)]
                unsafe {
                    set_default(sig);
                }
            }
        }
    }
}

/// The kernel's `struct sigaction` (handler first; then flags, on some architectures a restorer,
/// and the mask), with room to spare: all zero it says `SIG_DFL`, no flags, nothing masked.
#[derive(Default)]
#[repr(C)]
struct KernelSigaction([u64; 4]);

/// Sets `sig` to its default with the system call (async-signal-safe: for a forked child).
#[allow(unsafe_code)]
unsafe fn set_default(sig: libc::c_int) {
    let default = [0u64; 4];
    // SAFETY: an all-zero kernel sigaction (`SIG_DFL`); the old one is not asked for.
    unsafe {
        libc::syscall(libc::SYS_rt_sigaction, sig, default.as_ptr(), std::ptr::null_mut::<u64>(), 8);
    }
}

/// A glibc object, destroyed when dropped.
struct Guard<T>(T, unsafe extern "C" fn(*mut T) -> libc::c_int);

impl<T> Drop for Guard<T> {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: the object was initialised before its guard was made and is destroyed once.
        unsafe {
            (self.1)(&raw mut self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn a_program_is_found_in_path_or_refused_without_naming_the_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("bin");
        let tool = bin.join("tool");
        std::fs::write(&tool, "#!/bin/sh\n").expect("tool");
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let plain = bin.join("plain");
        std::fs::write(&plain, "text").expect("plain");
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let path = std::env::join_paths([Path::new("/nonexistent"), &bin]).expect("join");
        assert_eq!(resolve(Path::new("tool"), dir.path(), Some(&path)), Ok(tool.clone()));
        assert_eq!(resolve(Path::new("bin/tool"), dir.path(), None), Ok(tool));
        assert_eq!(resolve(Path::new("nope"), dir.path(), Some(&path)), Err("not found in PATH".into()));
        assert_eq!(resolve(Path::new("nope"), dir.path(), None), Err("not found in PATH".into()));
        assert_eq!(
            resolve(Path::new("plain"), dir.path(), Some(&path)),
            Err(format!("{} exists but is not executable; not found in PATH", plain.display()))
        );
        assert_eq!(resolve(Path::new("./bin"), dir.path(), None), Err("it is a directory".into()));
        assert_eq!(resolve(Path::new("./missing"), dir.path(), None), Err("it does not exist".into()));
        assert_eq!(resolve(Path::new("bin/plain"), dir.path(), None), Err("it is not executable".into()));
    }

    /// Runs `script` (a file without `#!`, so the shell runs it) through `how`; what it printed.
    fn run_script(how: Start, script: &str, cols: u16) -> (String, u32, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("script");
        std::fs::write(&file, script).expect("script");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let spec = SpawnSpec {
            key: String::new(),
            command: vec![file.to_string_lossy().into_owned(), "arg-one".into()],
            cwd: dir.path().to_path_buf(),
            env: [("X_SPAWN".to_owned(), "here".to_owned())].into(),
            cols,
            rows: 24,
            activity: None,
            offset: 0,
        };
        let (master, pid) = spawn_on_pty(&spec, how).expect("started");
        let mut reader = master.try_clone_reader().expect("reader");
        let mut out = Vec::new();
        // The program prints and exits; the master then reads EOF or EIO.
        let _ = std::io::Read::read_to_end(&mut reader, &mut out);
        let pid_raw = rustix::process::Pid::from_raw(i32::try_from(pid).expect("pid")).expect("pid");
        let status = crate::worker::pty::waitpid(pid_raw).expect("reaped");
        assert_eq!(status, 0, "{how:?}: {}", String::from_utf8_lossy(&out));
        let cwd = std::fs::canonicalize(dir.path()).expect("cwd");
        (String::from_utf8_lossy(&out).into_owned(), pid, cwd)
    }

    #[test]
    fn both_starts_give_a_session_leader_on_its_terminal_with_the_spec_applied() {
        // Fields 6 and 7 of /proc/PID/stat: the session and the controlling terminal (0: none).
        let script = "read -r _ _ _ _ _ sid ctty _ < /proc/$$/stat; \
            echo \"pid=$$ sid=$sid ctty=$ctty tty=$(tty) cwd=$(pwd) arg=$1 x=$X_SPAWN term=$TERM size=$(stty size)\"\n";
        for how in [Start::Spawn, Start::Fork] {
            let (out, pid, cwd) = run_script(how, script, 91);
            assert!(out.contains(&format!("pid={pid} sid={pid} ctty=")), "{how:?}: {out}");
            assert!(!out.contains("ctty=0 ") && out.contains(" tty=/dev/pts/"), "{how:?}: {out}");
            assert!(out.contains("arg=arg-one x=here term=xterm-256color size=24 91"), "{how:?}: {out}");
            assert!(out.contains(&format!("cwd={}", cwd.display())), "{how:?}: {out}");
        }
    }

    #[test]
    fn a_signal_the_starter_ignores_is_at_its_default_in_the_program() {
        // Rust's runtime ignores SIGPIPE in this process, as in the gateway and its holders;
        // an ignored signal outlives an exec, so the start must put it back.
        assert!(ignored_signals().contains(libc::SIGPIPE), "{:?}", ignored_signals());
        // Signals 32 and 33 are glibc's own (thread cancellation, set*id): its `posix_spawn`
        // leaves them ignored when this threaded process has handlers for them.
        let glibc_own = (1u64 << 31) | (1u64 << 32);
        let mask = |out: &str, field: &str| {
            let line =
                out.lines().find(|l| l.starts_with(field)).unwrap_or_else(|| panic!("{field} in {out}"));
            let hex = line.split_once('\t').map_or("", |(_, v)| v.trim());
            u64::from_str_radix(hex, 16).unwrap_or_else(|e| panic!("{line:?}: {e}"))
        };
        for how in [Start::Spawn, Start::Fork] {
            let (out, _, _) = run_script(how, "exec grep -E '^Sig(Ign|Blk)' /proc/self/status\n", 80);
            // A fork resets glibc's two as well (with the system call).
            let own = if how == Start::Fork { 0 } else { glibc_own };
            assert_eq!(mask(&out, "SigIgn:") & !own, 0, "{how:?}: nothing ignored: {out}");
            assert_eq!(mask(&out, "SigBlk:"), 0, "{how:?}: nothing blocked: {out}");
        }
    }

    #[test]
    fn the_environment_drops_gateway_secrets_and_sets_term() {
        let extra = [("TERM".to_owned(), "dumb".to_owned()), ("X_EXTRA".to_owned(), "1".to_owned())].into();
        let env = environment(&extra);
        let get = |k: &str| env.iter().filter(|(n, _)| n == k).map(|(_, v)| v.clone()).collect::<Vec<_>>();
        assert_eq!(get("TERM"), [OsString::from("dumb")], "the spec's own value wins, once");
        assert_eq!(get("X_EXTRA"), [OsString::from("1")]);
        assert!(get("CONTROLROOM_TOKEN").is_empty());
        assert_eq!(get("SHELL").len(), 1);
    }
}
