//! `messages.svg` and `explain`, read back as a user reads them: the picture parsed as
//! XML, the chain as text. The flaky configuration of Restate's test and a mutant's run.

use crate::common;

use common::{logsandbox, scratch, stderr, stdout};
use roxmltree::{Document, Node};

/// The flaky configuration: the store at 50 ms one way, the network and peers at 1 ms,
/// the test's Logs at v1 and a client that waits for any version.
const FLAKY: &[&str] = &[
    "--set",
    "metadata.logs_version=1",
    "--set",
    "metadata.wait_for_version=false",
    "--set",
    "latency.metadata_store=50ms",
    "--set",
    "latency.network=1ms",
    "--set",
    "latency.peer_metadata=1ms",
];

fn attr<'a>(node: Node<'a, 'a>, name: &str) -> &'a str {
    node.attribute(name).unwrap_or("")
}

fn classes<'a>(node: Node<'a, 'a>) -> Vec<&'a str> {
    attr(node, "class").split_whitespace().collect()
}

fn title(node: Node<'_, '_>) -> String {
    node.children()
        .find(|c| c.has_tag_name("title"))
        .and_then(|t| t.text())
        .unwrap_or("")
        .to_string()
}

fn ns(node: Node<'_, '_>, name: &str) -> u64 {
    attr(node, name)
        .parse()
        .unwrap_or_else(|_| panic!("{name} on {:?}", node))
}

#[test]
fn the_flaky_run_draws_the_peer_answer_arriving_before_the_store_answer_and_marks_the_failing_find_tail()
 {
    let dir = scratch("flaky-svg");
    let mut args = vec![
        "run",
        "append-after-seal-concurrent",
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend(FLAKY);
    let out = logsandbox(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text =
        std::fs::read_to_string(dir.join("messages.svg")).expect("run --out writes messages.svg");
    let svg = Document::parse(&text).expect("messages.svg is well-formed XML");

    let lanes: Vec<&str> = svg
        .descendants()
        .filter(|n| classes(*n).contains(&"lane"))
        .map(|n| attr(n, "data-lane"))
        .collect();
    assert_eq!(lanes, ["N1", "N2", "N3", "N5", "store", "test"]);

    let flights: Vec<Node> = svg
        .descendants()
        .filter(|n| classes(*n).contains(&"flight"))
        .collect();
    // The peer's answer: a MetadataUpdate to N5 carrying the empty v1.
    let peer_answer = flights
        .iter()
        .find(|f| attr(**f, "data-kind") == "MetadataUpdate" && attr(**f, "data-to") == "N5")
        .expect("the peer's answer to N5 is drawn");
    assert!(
        title(*peer_answer).contains("Logs v1 (empty)"),
        "{}",
        title(*peer_answer)
    );
    // The store's answer to N5's read: the test's v1, with log 0.
    let store_answer = flights
        .iter()
        .find(|f| {
            attr(**f, "data-from") == "store"
                && attr(**f, "data-to") == "N5"
                && title(**f).contains("log 0 -> 0_0")
        })
        .expect("the store's answer to N5 is drawn");
    assert!(
        ns(*peer_answer, "data-delivered-ns") < ns(*store_answer, "data-delivered-ns"),
        "the peer's answer arrives first"
    );
    // Its request left N5 before the peer's answer came back: the two raced.
    let store_read = flights
        .iter()
        .find(|f| attr(**f, "data-from") == "N5" && attr(**f, "data-to") == "store")
        .expect("N5's store read is drawn");
    assert!(ns(*store_read, "data-sent-ns") < ns(*peer_answer, "data-delivered-ns"));
    // Both lie on the causal chain, drawn in red.
    assert!(classes(*peer_answer).contains(&"cause"));

    let failing: Vec<Node> = svg
        .descendants()
        .filter(|n| classes(*n).contains(&"failing-op"))
        .collect();
    assert_eq!(failing.len(), 1, "exactly one failing operation is marked");
    let failing = failing[0];
    assert_eq!(attr(failing, "data-lane"), "N5");
    assert_eq!(attr(failing, "data-kind"), "failed");
    let what = title(failing);
    assert!(
        what.contains("find-tail log 0") && what.contains("unknown log '0'"),
        "{what}"
    );
    assert!(ns(failing, "data-at-ns") > ns(*store_answer, "data-delivered-ns"));
    // The explanation is written beside it.
    let explain = std::fs::read_to_string(dir.join("explain.txt")).unwrap();
    assert!(explain.contains("unknown log '0'"), "{explain}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The position of the first line of `text` after `from` that contains every needle.
fn line_with(text: &str, from: usize, needles: &[&str]) -> usize {
    text.lines()
        .enumerate()
        .skip(from)
        .find(|(_, l)| needles.iter().all(|n| l.contains(n)))
        .map(|(i, _)| i)
        .unwrap_or_else(|| panic!("no line after {from} with {needles:?} in:\n{text}"))
}

#[test]
fn explain_names_the_five_events_of_the_seed_race_in_order() {
    let mut args = vec!["run", "append-after-seal-concurrent", "--explain"];
    args.extend(FLAKY);
    let out = logsandbox(&args);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let chain = line_with(&text, 0, &["causal chain"]);
    let header = line_with(
        &text,
        chain,
        &["-> N5", "header shows Logs v1", "the peer's header"],
    );
    let ask = line_with(&text, header + 1, &["N5 -> N", "GetMetadata"]);
    let cached = line_with(&text, ask + 1, &["N5", "caches Logs v1 from peer", "empty"]);
    let dropped = line_with(
        &text,
        cached + 1,
        &[
            "drops (not newer) Logs v1 from metadata store",
            "log 0 -> 0_0",
        ],
    );
    let failed = line_with(&text, dropped + 1, &["find-tail log 0", "unknown log '0'"]);
    assert!(
        text.lines()
            .nth(failed)
            .unwrap()
            .contains("the failing operation")
    );
    // The peer asked is the one whose header was heard.
    let peer = |line: usize| {
        let l = text.lines().nth(line).unwrap();
        l.split_whitespace()
            .find(|w| w.starts_with('N') && *w != "N5")
            .map(str::to_string)
    };
    assert_eq!(peer(header), peer(ask));
}

#[test]
fn explain_gives_a_chain_for_a_mutant_that_fails_a_check() {
    let dir = scratch("mutant-explain");
    let path = common::mutant_file(&dir, "publish-before-drain");
    let out_dir = dir.join("out");
    let out = logsandbox(&[
        "run",
        "append-seal-reordered",
        "--seed",
        "2",
        "--guest",
        path.to_str().unwrap(),
        "--explain",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    // The check that failed names the append acknowledged beyond the published seal.
    let headline = line_with(&text, 0, &["explain:", "appended at"]);
    let chain = line_with(&text, headline, &["causal chain"]);
    let store = line_with(&text, chain, &["N5 -> N", "Store"]);
    let seal = line_with(
        &text,
        store,
        &["seal log 0: sealed", "another operation the check names"],
    );
    let ack = line_with(&text, seal, &["appended at", "the failing operation"]);
    assert!(ack > seal);
    let svg = std::fs::read_to_string(out_dir.join("messages.svg")).unwrap();
    let svg = Document::parse(&svg).unwrap();
    let failing = svg
        .descendants()
        .find(|n| classes(*n).contains(&"failing-op"))
        .expect("the failing operation is marked");
    assert!(title(failing).contains("appended at"));
    let red = svg
        .descendants()
        .filter(|n| classes(*n).contains(&"cause"))
        .count();
    assert!(red >= 4, "the chain is drawn in red ({red} elements)");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn keeping_the_record_changes_neither_the_verdict_nor_the_trace_hash() {
    let dir = scratch("record-neutral");
    let json = |extra: &[&str]| {
        let mut args = vec!["run", "append-after-seal-concurrent", "--json"];
        args.extend(FLAKY);
        args.extend(extra);
        let out = logsandbox(&args);
        serde_json::from_str::<serde_json::Value>(stdout(&out).trim()).unwrap()
    };
    let bare = json(&[]);
    let recorded = json(&["--out", dir.to_str().unwrap()]);
    assert_eq!(bare["trace_hash"], recorded["trace_hash"]);
    assert_eq!(bare["checks"], recorded["checks"]);
    assert_eq!(bare["error"], recorded["error"]);
    assert_eq!(bare["sim_time_ms"], recorded["sim_time_ms"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_passing_run_draws_its_start_and_has_nothing_to_explain() {
    let dir = scratch("passing-svg");
    let out = logsandbox(&[
        "run",
        "append-seal-basic",
        "--set",
        "workload.appenders=2",
        "--set",
        "workload.warmup_appends=3",
        "--out",
        dir.to_str().unwrap(),
        "--explain",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("nothing to explain"));
    assert!(!dir.join("explain.txt").exists());
    let svg = std::fs::read_to_string(dir.join("messages.svg")).unwrap();
    let svg = Document::parse(&svg).unwrap();
    assert!(svg.descendants().any(|n| attr(n, "data-kind") == "Store"));
    assert!(
        !svg.descendants()
            .any(|n| classes(n).contains(&"failing-op"))
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
