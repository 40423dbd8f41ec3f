//! The client commands over TLS: `ls`, `new`, `send`, `explain` (HTTPS) and `watch` (WSS) against
//! `controlroom serve --tls-cert --tls-key` with a self-signed certificate, trusted through
//! `--tls-ca`, `CONTROLROOM_TLS_CA`, or `gateway.json`'s `tlsCert`; a missing or wrong CA is one
//! clear line and a non-zero exit.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use support::{DEADLINE, Gateway, bin, self_signed_files, wait_for};

const NOT_TRUSTED: &str = "certificate not trusted — pass --tls-ca FILE";

/// `controlroom SUB --data-dir DATA` with no URL, token or CA from the environment.
fn client(data: &Path, sub: &str) -> Command {
    let mut cmd = Command::new(bin());
    cmd.arg(sub)
        .arg("--data-dir")
        .arg(data)
        .env_remove("CONTROLROOM_TOKEN")
        .env_remove("CONTROLROOM_URL")
        .env_remove("CONTROLROOM_TLS_CA")
        .env("CONTROLROOM_CONFIG_DIR", data.with_extension("client-config"));
    cmd
}

fn run(data: &Path, args: &[&str]) -> Output {
    let (sub, rest) = args.split_first().expect("a subcommand");
    client(data, sub).args(rest).output().expect("run controlroom")
}

fn ok(o: &Output) -> String {
    assert!(o.status.success(), "failed: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn refused(o: &Output) -> String {
    assert!(!o.status.success(), "should fail; stdout: {}", String::from_utf8_lossy(&o.stdout));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(err.trim().lines().count(), 1, "one line on stderr: {err}");
    err
}

#[tokio::test]
async fn commands_speak_https_and_wss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = self_signed_files(dir.path(), "gateway");
    let (other, _) = self_signed_files(dir.path(), "other");
    let data = dir.path().join("data");
    // On every interface (allowed with TLS), so 127.0.0.2 reaches it too.
    let tls_flags = ["--tls-cert", cert.to_str().expect("path"), "--tls-key", key.to_str().expect("path")];
    let gw = Gateway::start_on(&data, "0.0.0.0:0", &tls_flags);
    let port = gw.url.rsplit(':').next().expect("port").to_owned();
    let url = format!("https://127.0.0.1:{port}");
    let url = url.as_str();
    let ca = cert.to_str().expect("path");

    // gateway.json names the certificate, so local clients trust it without being told.
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("gateway.json")).expect("gateway.json"))
            .expect("json");
    assert_eq!(file["url"], url);
    assert_eq!(file["tlsCert"], std::fs::canonicalize(&cert).expect("canonical").to_str().expect("path"));

    // watch over WSS, started first so it sees the session being created.
    let mut watch = client(&data, "watch")
        .args(["--connect", url, "--tls-ca", ca])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn watch");
    let (tx, rx) = mpsc::channel::<serde_json::Value>();
    let out = watch.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(serde_json::from_str(&line).expect("a JSON line"));
        }
    });
    wait_for("watch to connect over wss", || async {
        gw.log().contains("client connected endpoint=\"app\"")
    })
    .await;

    let created = ok(&run(
        &data,
        &["new", "--title", "over-tls", "--cwd", "/tmp", "--connect", url, "--tls-ca", ca, "--", "sh"],
    ));
    let (sid, wid) = created.trim().split_once('/').expect("SID/WID");
    let delta = rx.recv_timeout(DEADLINE).expect("watch printed a delta");
    assert_eq!(delta["type"], "session-created");
    assert_eq!(delta["sessionId"], sid);

    let ls = ok(&run(&data, &["ls", "--json", "--connect", url, "--tls-ca", ca]));
    let v: serde_json::Value = serde_json::from_str(&ls).expect("json");
    assert_eq!(v["sessions"][0]["workers"][0]["id"], wid);

    ok(&run(&data, &["send", "over/sh", "echo tls-$((40+2))", "--enter", "--connect", url, "--tls-ca", ca]));
    let explained = ok(&run(&data, &["explain", "over/sh", "--json", "--connect", url, "--tls-ca", ca]));
    assert!(explained.contains("\"state\""), "{explained}");

    // The same through the environment, and through gateway.json alone.
    let env_ls = Command::new(bin())
        .args(["ls", "--json", "--data-dir"])
        .arg(&data)
        .env("CONTROLROOM_URL", url)
        .env("CONTROLROOM_TLS_CA", ca)
        .env_remove("CONTROLROOM_TOKEN")
        .env("CONTROLROOM_CONFIG_DIR", dir.path().join("cfg"))
        .output()
        .expect("run");
    assert!(ok(&env_ls).contains(sid));
    assert!(ok(&run(&data, &["ls"])).contains("over-tls"), "local discovery trusts gateway.json's cert");

    // No CA, or the wrong one: one clear line and a non-zero exit, for HTTPS and WSS alike.
    let err = refused(&run(&data, &["ls", "--connect", url]));
    assert!(err.contains(NOT_TRUSTED) && err.contains(url), "{err}");
    let err = refused(&run(&data, &["ls", "--connect", url, "--tls-ca", other.to_str().expect("path")]));
    assert!(err.contains(NOT_TRUSTED), "{err}");
    let err = refused(&run(&data, &["watch", "--connect", url]));
    assert!(err.contains(NOT_TRUSTED), "{err}");
    // Host names are checked: the certificate does not list 127.0.0.2.
    let elsewhere = url.replace("127.0.0.1", "127.0.0.2");
    let err = refused(&run(&data, &["ls", "--connect", &elsewhere, "--tls-ca", ca]));
    assert!(err.contains("not valid for 127.0.0.2"), "{err}");
    // A CA file that is not a certificate is named.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "nope").expect("write");
    let err = refused(&run(&data, &["ls", "--connect", url, "--tls-ca", junk.to_str().expect("path")]));
    assert!(err.contains("junk.pem"), "{err}");

    let _ = watch.kill();
    let _ = watch.wait();
}
