#![allow(clippy::unwrap_used, clippy::expect_used)] // tests panic on failure by design
//! Every command the documentation shows is run here, so that a reader who pastes one gets what
//! the page says.
//!
//! Each fenced ```` ```sh ```` block of README.md and docs/*.md is run with `bash -euo pipefail`
//! against the real binary, real nodes and the demo PKI. The blocks of one page run in order in
//! one scratch directory that looks like the repository's root to them (`certs/` and `fixtures/`
//! linked in), so a later block can use what an earlier one wrote, as a reader's shell would.
//! The page's conventions, which this test enforces:
//!
//! - ```` ```sh ```` is a command that works when pasted at the repository's root. A synopsis with
//!   placeholders is a ```` ```text ```` block instead.
//! - ```` ```sh no-test ```` is a real command this test must not run (it would run this test
//!   suite again, or run for hours); the line right before its fence says why, as
//!   `<!-- not run by tests/docs_commands.rs: <why> -->`. The test lists each one it skipped.
//! - Inside a block, a comment `# exit 0: "<text>"` after a command says what it prints: some
//!   line of the block's output must match `<text>`. `# exit C: "<text>"` with C other than 0
//!   goes with a command written `<command> || echo "exit $?"`, and the output must also hold the
//!   line `exit C`.
//! - A ```` ```text output ```` block right after a ```` ```sh ```` block (blank lines between at
//!   most) shows its output: each of its lines must match a line of the output, in order.
//! - In `<text>` and in output lines, `…` stands for any text and a word of one capital letter
//!   (`N`, `S`, …) for a number; everything else is literal.

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The longest a block may run. The slowest, the federation walk-through, takes a few seconds
/// once the examples are built; the limit leaves room for a busy machine.
const BLOCK_TIMEOUT: Duration = Duration::from_secs(120);

/// The comment that must stand on the line before a ```` ```sh no-test ```` fence.
const NO_TEST_PREFIX: &str = "<!-- not run by tests/docs_commands.rs: ";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// README.md and docs/*.md, by path relative to the repository, in a fixed order.
fn pages() -> Vec<String> {
    let mut docs: Vec<String> = fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    let mut all = vec!["README.md".to_owned()];
    all.extend(docs);
    all
}

/// A fenced block of a page.
struct Block {
    /// The page, relative to the repository.
    page: String,
    /// The line of its opening fence, from 1.
    line: usize,
    /// The fence's info string: `sh`, `sh no-test`, `text output`, `json`, ….
    info: String,
    body: String,
    /// The line before the fence.
    before: String,
    /// Only blank lines lie between this block and the previous one.
    follows_previous: bool,
}

impl Block {
    fn name(&self) -> String {
        format!("{}:{} (```{})", self.page, self.line, self.info)
    }
}

/// The fenced blocks of `text`, in order. Fences start at the beginning of a line.
fn blocks(page: &str, text: &str) -> Vec<Block> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut last_close: Option<usize> = None;
    while i < lines.len() {
        let Some(info) = lines[i].strip_prefix("```") else {
            i += 1;
            continue;
        };
        let start = i;
        let mut body = String::new();
        i += 1;
        while i < lines.len() && lines[i].trim_end() != "```" {
            body.push_str(lines[i]);
            body.push('\n');
            i += 1;
        }
        assert!(
            i < lines.len(),
            "{page}:{}: a fence is never closed",
            start + 1
        );
        let follows_previous =
            last_close.is_some_and(|c| lines[c + 1..start].iter().all(|l| l.trim().is_empty()));
        out.push(Block {
            page: page.to_owned(),
            line: start + 1,
            info: info.trim().to_owned(),
            body,
            before: if start > 0 {
                lines[start - 1].to_owned()
            } else {
                String::new()
            },
            follows_previous,
        });
        last_close = Some(i);
        i += 1;
    }
    out
}

/// What a page's blocks ask of this test, or the ways they break its conventions.
struct Plan {
    /// The blocks to run, each with the output block that follows it, if any.
    run: Vec<(Block, Option<String>)>,
    /// The `no-test` blocks, each with its reason.
    skipped: Vec<(String, String)>,
    problems: Vec<String>,
}

fn plan(page: &str, text: &str) -> Plan {
    let mut plan = Plan {
        run: Vec::new(),
        skipped: Vec::new(),
        problems: Vec::new(),
    };
    let reason_of = |b: &Block| {
        b.before
            .trim()
            .strip_prefix(NO_TEST_PREFIX)
            .and_then(|r| r.strip_suffix("-->"))
            .map(|r| r.trim().to_owned())
    };
    let mut previous = String::new();
    for b in blocks(page, text) {
        let reason = reason_of(&b);
        let after_sh = b.follows_previous && previous == "sh";
        previous.clone_from(&b.info);
        if reason.is_some() && b.info != "sh no-test" {
            plan.problems.push(format!(
                "{}: a no-test reason stands before a block that is not ```sh no-test",
                b.name()
            ));
        }
        match b.info.as_str() {
            "sh" => plan.run.push((b, None)),
            "sh no-test" => match reason {
                Some(r) if !r.is_empty() => plan.skipped.push((b.name(), r)),
                _ => plan.problems.push(format!(
                    "{}: a no-test block needs its reason on the line before the fence, \
                     `{NO_TEST_PREFIX}<why> -->`",
                    b.name()
                )),
            },
            "text output" => match plan.run.last_mut() {
                Some((_, expected @ None)) if after_sh => {
                    *expected = Some(b.body.clone());
                }
                _ => plan.problems.push(format!(
                    "{}: an output block must come right after the ```sh block it shows",
                    b.name()
                )),
            },
            info if info.starts_with("sh")
                || ["bash", "shell", "console", "zsh"].contains(&info) =>
            {
                plan.problems.push(format!(
                    "{}: shell commands go in ```sh (run by this test) or ```sh no-test \
                     (with a reason); synopses in ```text",
                    b.name()
                ));
            }
            _ => {}
        }
    }
    plan
}

/// A piece of an expected line.
#[derive(Debug, PartialEq)]
enum Piece {
    Text(String),
    /// `…`: any text.
    Any,
    /// A word of one capital letter: a number.
    Number,
}

fn pieces(pattern: &str) -> Vec<Piece> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = vec![Piece::Any];
    let mut text = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let alone = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_none_or(|c| !c.is_alphanumeric() && *c != '_')
        };
        let piece = if c == '…' {
            Some(Piece::Any)
        } else if c.is_ascii_uppercase() && alone(i.checked_sub(1)) && alone(Some(i + 1)) {
            Some(Piece::Number)
        } else {
            None
        };
        match piece {
            Some(p) => {
                if !text.is_empty() {
                    out.push(Piece::Text(std::mem::take(&mut text)));
                }
                out.push(p);
            }
            None => text.push(c),
        }
    }
    if !text.is_empty() {
        out.push(Piece::Text(text));
    }
    out.push(Piece::Any);
    out
}

/// Whether `line` holds the pattern made of `pieces` (which begins and ends with `Any`).
fn matches(pieces: &[Piece], line: &str) -> bool {
    match pieces.split_first() {
        None => line.is_empty(),
        Some((Piece::Text(t), rest)) => line
            .strip_prefix(t.as_str())
            .is_some_and(|l| matches(rest, l)),
        Some((Piece::Number, rest)) => {
            let digits = line.len() - line.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            digits > 0 && matches(rest, &line[digits..])
        }
        Some((Piece::Any, rest)) => line
            .char_indices()
            .map(|(i, _)| i)
            .chain([line.len()])
            .any(|i| matches(rest, &line[i..])),
    }
}

fn line_matches(pattern: &str, line: &str) -> bool {
    matches(&pieces(pattern), line)
}

/// The `# exit C: "<text>"` comments of a block, as (C, text).
fn exit_comments(body: &str) -> Vec<(u32, String)> {
    body.lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("# exit ")?;
            let (code, rest) = rest.split_once(": \"")?;
            let text = &rest[..rest.rfind('"')?];
            Some((code.parse().ok()?, text.to_owned()))
        })
        .collect()
}

/// What the output of a block lacks, by its `# exit` comments and its output block.
fn missing(body: &str, expected: Option<&str>, output: &str) -> Vec<String> {
    let lines: Vec<&str> = output.lines().collect();
    let mut out = Vec::new();
    for (code, text) in exit_comments(body) {
        if !lines.iter().any(|l| line_matches(&text, l)) {
            out.push(format!("no line of the output matches {text:?}"));
        }
        if code != 0 && !lines.contains(&format!("exit {code}").as_str()) {
            out.push(format!(
                "`# exit {code}` is documented, but no line `exit {code}` was printed"
            ));
        }
    }
    if let Some(expected) = expected {
        let mut from = 0;
        for want in expected.lines().filter(|l| !l.trim().is_empty()) {
            match lines[from..].iter().position(|l| line_matches(want, l)) {
                Some(i) => from += i + 1,
                None => out.push(format!(
                    "the output block's line {want:?} matches no line of the output after \
                     the previous one's"
                )),
            }
        }
    }
    out
}

/// A process group that the blocks of one page run in, killed as a whole when dropped, so
/// that a node a failed block left running does not outlive the test.
struct Group {
    leader: Child,
}

impl Group {
    fn new() -> Group {
        // The leader only holds the group open: a group needs a live member for others to join.
        let leader = Command::new("sleep")
            .arg("100000")
            .process_group(0)
            .stdin(Stdio::null())
            .spawn()
            .expect("start the process group's leader");
        Group { leader }
    }

    fn id(&self) -> i32 {
        i32::try_from(self.leader.id()).unwrap()
    }

    fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([signal, "--", &format!("-{}", self.id())])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.signal("-TERM");
        std::thread::sleep(Duration::from_millis(300));
        self.signal("-KILL");
        let _ = self.leader.wait();
    }
}

/// The directories a page's blocks run with.
struct Scratch {
    /// The working directory of the blocks: `certs/` and `fixtures/` linked in.
    work: tempfile::TempDir,
    /// `zhengzhao` and `cargo` for the blocks' PATH, the scripts, the outputs.
    aux: tempfile::TempDir,
}

/// The build folder the binary under test lies in: the one the blocks' `cargo` commands must
/// use, so that they find everything built and compile nothing.
fn target_dir() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_zhengzhao"));
    bin.parent().and_then(Path::parent).unwrap().to_owned()
}

impl Scratch {
    fn new() -> Scratch {
        let work = tempfile::tempdir().unwrap();
        for dir in ["certs", "fixtures"] {
            symlink(repo().join(dir), work.path().join(dir)).unwrap();
        }
        let aux = tempfile::tempdir().unwrap();
        let bin = aux.path().join("bin");
        fs::create_dir(&bin).unwrap();
        symlink(env!("CARGO_BIN_EXE_zhengzhao"), bin.join("zhengzhao")).unwrap();
        // `cargo build` and `cargo run --example …` in a block act on this repository, as they
        // do for a reader at its root: the scratch directory has no manifest of its own.
        let cargo = option_env!("CARGO").unwrap_or("cargo");
        let manifest = repo().join("Cargo.toml");
        let wrapper = bin.join("cargo");
        fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\n# cargo on the repository's manifest\nsub=\"$1\"; shift\n\
                 exec '{cargo}' \"$sub\" --manifest-path '{}' \"$@\"\n",
                manifest.display()
            ),
        )
        .unwrap();
        fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755)).unwrap();
        Scratch { work, aux }
    }

    /// The last lines of the logs the blocks wrote (a node's standard error, say).
    fn logs(&self) -> String {
        let mut out = String::new();
        let mut stack = vec![self.work.path().to_owned()];
        while let Some(dir) = stack.pop() {
            for e in fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = e.path();
                let Ok(meta) = fs::symlink_metadata(&path) else {
                    continue;
                };
                if meta.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|x| x == "log") {
                    // A database's write-ahead log is binary, and not what is wanted here.
                    let Ok(text) = fs::read_to_string(&path) else {
                        continue;
                    };
                    let tail: Vec<&str> = text.lines().rev().take(30).collect();
                    let rel = path.strip_prefix(self.work.path()).unwrap();
                    let _ = writeln!(out, "--- {} (last lines)", rel.display());
                    for l in tail.iter().rev() {
                        let _ = writeln!(out, "{l}");
                    }
                }
            }
        }
        out
    }
}

/// Whether `name` is one of the variables cargo sets for a test, which a reader's shell does not
/// have. They must not reach a block's `cargo`: build scripts ask to be rerun when some of them
/// change (`CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`, …), so a `cargo build` that saw them would
/// build those crates again, and the next build without them again.
fn set_by_cargo_for_tests(name: &str) -> bool {
    const PREFIXES: [&str; 6] = [
        "CARGO_PKG_",
        "CARGO_CFG_",
        "CARGO_FEATURE_",
        "CARGO_MANIFEST_",
        "CARGO_CRATE_",
        "CARGO_BIN_",
    ];
    const NAMES: [&str; 5] = [
        "CARGO",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_TARGET_TMPDIR",
        "CARGO_RUSTC_CURRENT_DIR",
        "OUT_DIR",
    ];
    PREFIXES.iter().any(|p| name.starts_with(p)) || NAMES.contains(&name)
}

/// Runs one block in `scratch` within `group`: its exit status (none on a timeout) and
/// everything it printed, standard output and standard error interleaved.
fn run_block(
    scratch: &Scratch,
    group: &Group,
    n: usize,
    block: &Block,
) -> (Option<ExitStatus>, String) {
    let script = scratch.aux.path().join(format!("block-{n}.sh"));
    fs::write(&script, &block.body).unwrap();
    let out_path = scratch.aux.path().join(format!("block-{n}.out"));
    let out = fs::File::create(&out_path).unwrap();
    let path = format!(
        "{}:{}",
        scratch.aux.path().join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut command = Command::new("bash");
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(set_by_cargo_for_tests) {
            command.env_remove(&name);
        }
    }
    let mut child = command
        .args(["-euo", "pipefail"])
        .arg(&script)
        .current_dir(scratch.work.path())
        .env("PATH", path)
        .env("zz", env!("CARGO_BIN_EXE_zhengzhao"))
        .env("CARGO_TARGET_DIR", target_dir())
        .process_group(group.id())
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .expect("run bash");
    let deadline = Instant::now() + BLOCK_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let output = String::from_utf8_lossy(&fs::read(&out_path).unwrap()).into_owned();
    (status, output)
}

/// The last `n` lines of `text`.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs the blocks of one page; the failures, described.
fn run_page(page: &str, run: &[(Block, Option<String>)]) -> Vec<String> {
    let scratch = Scratch::new();
    let group = Group::new();
    let mut failures = Vec::new();
    for (n, (block, expected)) in run.iter().enumerate() {
        let started = Instant::now();
        let (status, output) = run_block(&scratch, &group, n + 1, block);
        eprintln!(
            "{}: block {} ({:.1} s)",
            block.name(),
            n + 1,
            started.elapsed().as_secs_f64()
        );
        let mut why = match status {
            None => vec![format!("it ran longer than {} s", BLOCK_TIMEOUT.as_secs())],
            Some(s) if !s.success() => vec![format!("it failed ({s})")],
            Some(_) => Vec::new(),
        };
        if why.is_empty() {
            why = missing(&block.body, expected.as_deref(), &output);
        }
        if !why.is_empty() {
            failures.push(format!(
                "{page}, block {} at line {}: {}\n--- the block\n{}--- its output (last lines)\n{}\n{}",
                n + 1,
                block.line,
                why.join("; "),
                block.body,
                tail(&output, 80),
                scratch.logs()
            ));
            // Later blocks of the page may need what this one should have made.
            break;
        }
    }
    drop(group);
    failures
}

#[test]
fn every_documented_command_works() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for page in pages() {
        let text = fs::read_to_string(repo().join(&page)).unwrap();
        let plan = plan(&page, &text);
        for (name, reason) in &plan.skipped {
            eprintln!("skipped, no-test: {name}: {reason}");
        }
        failures.extend(plan.problems);
        if !plan.run.is_empty() {
            ran += plan.run.len();
            failures.extend(run_page(&page, &plan.run));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problem(s) with the documented commands:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    assert!(ran >= 8, "only {ran} ```sh blocks were found");
}

#[test]
fn the_conventions_are_enforced() {
    let page = "\
```sh no-test
cargo fuzz run x
```

<!-- not run by tests/docs_commands.rs: it runs for hours -->
```sh no-test
cargo fuzz run y
```

```sh
echo hi
```

```text output
hi
```

```bash
ls
```

```text output
stray
```
";
    let plan = plan("t.md", page);
    assert_eq!(plan.run.len(), 1);
    assert_eq!(plan.run[0].1.as_deref(), Some("hi\n"));
    assert_eq!(
        plan.skipped,
        [(
            "t.md:6 (```sh no-test)".to_owned(),
            "it runs for hours".to_owned()
        )]
    );
    assert_eq!(plan.problems.len(), 3, "{:?}", plan.problems);
    assert!(plan.problems[0].contains("t.md:1"));
    assert!(plan.problems[1].contains("```bash"));
    assert!(plan.problems[2].contains("output block"));
}

#[test]
fn expected_text_matches_as_documented() {
    let verified = "verified N entries; root …; K checkpoints, the newest at size S";
    assert!(line_matches(
        verified,
        "verified 12 entries; root abc=; 3 checkpoints, the newest at size 12"
    ));
    assert!(!line_matches(
        verified,
        "verified many entries; root abc=; 3 checkpoints, the newest at size 12"
    ));
    assert!(line_matches("outcome: valid", "  outcome: valid (all)"));
    assert!(!line_matches("outcome: valid", "outcome: expired"));
    let body = "cmd || echo \"exit $?\"\n# exit 1: \"outcome: tampered\"\n";
    assert!(missing(body, None, "outcome: tampered\nexit 1\n").is_empty());
    assert_eq!(missing(body, None, "outcome: tampered\n").len(), 1);
    assert!(missing("", Some("a\nb N\n"), "a\nx\nb 7\n").is_empty());
    assert_eq!(missing("", Some("b N\na\n"), "a\nb 7\n").len(), 1);
}
