//! The commands tests run as real processes: the `zhengzhao` binary under test, `openssl` and
//! the Python scripts beside the tests. Shared by the tests' `support` and `node_support` and by
//! the benchmarks.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The `zhengzhao` binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_zhengzhao")
}

/// Runs `zhengzhao` with `args` and waits for it.
pub fn zz(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("run zhengzhao")
}

/// Runs `zhengzhao` with `args`, `input` on its standard input, and waits for it.
pub fn zz_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run zhengzhao");
    // A command may refuse (and exit) before it reads its input: a broken pipe is not a failure.
    if let Err(e) = child.stdin.take().expect("stdin").write_all(input) {
        assert_eq!(
            e.kind(),
            std::io::ErrorKind::BrokenPipe,
            "writing stdin: {e}"
        );
    }
    child.wait_with_output().expect("wait for zhengzhao")
}

/// `path` as a `&str`.
pub fn p(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

/// Runs `openssl` with `args` in `cwd`.
pub fn openssl(args: &[&str], cwd: &Path) -> Output {
    Command::new("openssl")
        .args(args)
        .current_dir(cwd)
        .output()
        .expect("the openssl command line is needed: run .ci/setup (apt-get install openssl)")
}

/// What a command wrote: its standard output, then its standard error.
pub fn output_text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The public key, in PEM, of the DER certificate in file `cert_der`, as OpenSSL reads it.
pub fn openssl_pubkey(cert_der: &Path) -> Vec<u8> {
    let out = Command::new("openssl")
        .args(["x509", "-inform", "DER", "-noout", "-pubkey", "-in"])
        .arg(cert_der)
        .output()
        .expect("run openssl");
    assert!(out.status.success());
    out.stdout
}

/// OpenSSL's check of the SM2 signature (DER) in file `sig_der` over file `data` under the
/// public key in `pubkey_pem`, with the distinguishing ID 1234567812345678; "Verified OK" on
/// its standard output when it holds.
pub fn openssl_sm2_verify(pubkey_pem: &Path, sig_der: &Path, data: &Path) -> Output {
    openssl_sm2_check(pubkey_pem, sig_der, data, true)
}

/// [`openssl_sm2_verify`], or with `with_id` false the same check under OpenSSL's default, an
/// empty ID ("Verification failure" for a signature made under the ID).
pub fn openssl_sm2_check(pubkey_pem: &Path, sig_der: &Path, data: &Path, with_id: bool) -> Output {
    let mut cmd = Command::new("openssl");
    cmd.args(["dgst", "-sm3"]);
    if with_id {
        cmd.args(["-sigopt", "distid:1234567812345678"]);
    }
    cmd.arg("-verify")
        .arg(pubkey_pem)
        .arg("-signature")
        .arg(sig_der)
        .arg(data)
        .output()
        .expect("run openssl")
}

/// Runs `python3 <script> args`, insisting that Python's cryptography is installed.
pub fn python(script: &Path, args: &[&str]) -> Output {
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .expect("python3 is needed for the interop tests (.ci/run installs it)");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("ModuleNotFoundError"),
        "Python's cryptography is missing: pip install cryptography ({err})"
    );
    out
}
