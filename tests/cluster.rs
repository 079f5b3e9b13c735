//! Many nodes: two copies of one release started on loopback as a
//! distributed Erlang cluster (`RELEASE_DISTRIBUTION=name`, distinct
//! `RELEASE_NODE`s, the release's cookie), with the system Erlang hidden:
//! they connect, see each other, share a `:global` name; a node with
//! another cookie is refused; the distribution port settings operators use
//! (`-kernel inet_dist_listen_min/max`, and without epmd
//! `-kernel erl_epmd_node_listen_port` or, before OTP 27, `-erl_epmd_port`)
//! are honoured.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// One node: a copy of the release, its name and environment.
struct Node {
    root: PathBuf,
    name: String,
    env: Vec<(&'static str, String)>,
}

impl Node {
    fn new(root: &Path, label: &str) -> Node {
        Node {
            root: root.to_owned(),
            name: format!("{}@127.0.0.1", node_name(label)),
            env: Vec::new(),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = without_system_erlang(&self.root.join("bin/hello"), args);
        cmd.env("RELEASE_DISTRIBUTION", "name")
            .env("RELEASE_NODE", &self.name)
            .envs(self.env.iter().map(|(k, v)| (*k, v)));
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        run(&mut self.command(args))
    }

    fn rpc(&self, expr: &str) -> String {
        run_ok(&mut self.command(&["rpc", expr])).trim().to_owned()
    }
}

/// Stops every node it holds when dropped, so a failing test leaves none.
struct Cluster(Vec<Node>);

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &self.0 {
            let _ = node.run(&["stop"]);
        }
    }
}

fn two_copies() -> (Scratch, PathBuf, PathBuf) {
    ensure_epmd();
    let (scratch, first) = package_with("hello", &[]);
    let second = scratch.path().join("second copy");
    copy_dir(&first, &second);
    (scratch, first, second)
}

#[test]
fn two_nodes_form_a_cluster_and_share_global_names() {
    let (_scratch, first, second) = two_copies();
    let cluster = Cluster(vec![Node::new(&first, "a"), Node::new(&second, "b")]);
    let [a, b] = &cluster.0[..] else {
        unreachable!()
    };
    for node in [a, b] {
        let started = node.run(&["daemon"]);
        assert!(
            started.status.success(),
            "{}{}",
            String::from_utf8_lossy(&started.stdout),
            String::from_utf8_lossy(&started.stderr)
        );
    }
    assert_eq!(cookie(&first), cookie(&second));
    assert_eq!(a.rpc(&format!("Node.connect(:\"{}\")", b.name)), "true");
    assert_eq!(a.rpc("Node.list()"), format!("[:\"{}\"]", b.name));
    assert_eq!(b.rpc("Node.list()"), format!("[:\"{}\"]", a.name));
    // A :global name registered on a is found from b.
    assert_eq!(
        a.rpc("pid = spawn(fn -> Process.sleep(:infinity) end); :global.register_name(:relpack_cluster_test, pid)"),
        ":yes"
    );
    assert_eq!(
        b.rpc("node(:global.whereis_name(:relpack_cluster_test))"),
        format!(":\"{}\"", a.name)
    );

    // A node with another cookie is refused, and sees no one.
    let mut stranger = Node::new(&second, "c");
    stranger
        .env
        .push(("RELEASE_COOKIE", "not-the-cluster-cookie".into()));
    stranger
        .env
        .push(("RELEASE_TMP", second.join("tmp-c").display().to_string()));
    let strangers = Cluster(vec![stranger]);
    let stranger = &strangers.0[0];
    let started = stranger.run(&["daemon"]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let refused = stranger.rpc(&format!("Node.connect(:\"{}\")", a.name));
    let stranger_sees = stranger.rpc("Node.list()");
    assert_eq!(stranger.run(&["stop"]).status.code(), Some(0));
    assert_eq!(refused, "false");
    assert_eq!(stranger_sees, "[]");
    assert_eq!(a.rpc("Node.list()"), format!("[:\"{}\"]", b.name));
}

/// `-kernel inet_dist_listen_min/max` in vm.args pins the port epmd
/// registers; `erl_epmd_node_listen_port` (`-erl_epmd_port` before OTP
/// 27) makes the node listen on a port without epmd.
#[test]
fn distribution_ports_are_honoured() {
    let (_scratch, first, second) = two_copies();
    let port = 20000 + (std::process::id() % 20000) as u16;
    // In vm.args, where operators pin it: only the node reads that file,
    // not the launcher's short-lived tool nodes (ERL_AFLAGS would give
    // them the same port, which the node already holds).
    let vm_args = first.join("releases/0.1.0/vm.args");
    let mut text = std::fs::read_to_string(&vm_args).unwrap();
    text.push_str(&format!(
        "-kernel inet_dist_listen_min {port} inet_dist_listen_max {port}\n"
    ));
    std::fs::write(&vm_args, text).unwrap();
    let pinned = Node::new(&first, "pinned");
    // Without epmd: the kernel parameter `erl_epmd_node_listen_port`
    // from OTP 27, which deprecates `-erl_epmd_port` (measured on OTP 27
    // and 29: both listen there; ERL_DIST_PORT is read by neither).
    let direct = Node::new(&second, "direct");
    let direct_port = port + 1;
    let flag = if installed().otp_release.parse::<u32>().unwrap() >= 27 {
        format!("-kernel erl_epmd_node_listen_port {direct_port}")
    } else {
        format!("-erl_epmd_port {direct_port}")
    };
    let vm_args = second.join("releases/0.1.0/vm.args");
    let mut text = std::fs::read_to_string(&vm_args).unwrap();
    text.push_str(&format!("{flag}\n-start_epmd false\n"));
    std::fs::write(&vm_args, text).unwrap();
    let cluster = Cluster(vec![pinned, direct]);
    let [pinned, direct] = &cluster.0[..] else {
        unreachable!()
    };

    let started = pinned.run(&["daemon"]);
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let short = pinned.name.split('@').next().unwrap();
    let names = run_ok(Command::new("epmd").arg("-names"));
    assert!(
        names.contains(&format!("name {short} at port {port}")),
        "{names}"
    );

    // Every node of a launcher call (its tool node too) would take that
    // port, so the node is started in the foreground and checked from
    // outside: it listens on that port.
    let log = first.join("direct.log");
    let mut child = spawn_logged(&mut direct.command(&["foreground"]), &log);
    let listening = (0..100).any(|_| {
        std::thread::sleep(std::time::Duration::from_millis(200));
        std::fs::read_to_string("/proc/net/tcp")
            .unwrap_or_default()
            .lines()
            .any(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                cols.len() > 3
                    && cols[1].ends_with(&format!(":{direct_port:04X}"))
                    && cols[3] == "0A"
            })
    });
    let status = terminate(&mut child);
    assert!(
        listening,
        "nothing listens on {direct_port}; log:\n{}",
        read_log(&log)
    );
    assert!(status.success(), "{status:?}: {}", read_log(&log));
}
