//! The layers only point down: every file of `src/` belongs to one layer ([`LAYERS`]), and its
//! `crate::`, `super::` and child-module paths may name only its own top-level module's files
//! of its layer, or files of lower layers.
//!
//! The check reads the source text (no compiler): comments and literals are skipped, `use`
//! trees are expanded, and every path is resolved to the file that defines the module it
//! starts with. It fails naming the file, the line and the path of each upward import, of each
//! import between two top-level modules of one rank (the two front ends, say), of each pair of
//! files that name each other (but a module and its own child), of each cycle between top-level
//! modules, and of an HTTP, SQLite, file or socket crate named in the protocol. It then compares
//! the module graph it found with "the dependency diagram of the layers" in `ARCHITECTURE.md`;
//! run with `--no-capture` to see the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

/// One layer: its name, its rank (a file may name lower ranks only, or its own rank inside
/// its own top-level module) and the files of `src/` it holds (a prefix ending in `/` is a
/// folder; the longest matching prefix wins).
struct Layer {
    name: &'static str,
    rank: u8,
    files: &'static [&'static str],
}

/// The layers, lowest first.
const LAYERS: &[Layer] = &[
    Layer {
        name: "protocol",
        rank: 0,
        files: &["tencent/"],
    },
    // Beside the protocol: data and pure helpers that name nothing of the crate.
    Layer {
        name: "plain data",
        rank: 0,
        files: &["model.rs", "qr.rs"],
    },
    Layer {
        name: "clients",
        rank: 1,
        files: &[
            "tencent/vod.rs",
            "tencent/cos.rs",
            "tencent/cos/",
            "tencent/ugc.rs",
            "tencent/sign_service.rs",
            "wecom/",
        ],
    },
    // Beside the clients: the servers speak the protocol too and may use nothing else.
    Layer {
        name: "servers",
        rank: 1,
        files: &["emulator/", "sign_server/"],
    },
    Layer {
        name: "config",
        rank: 2,
        files: &["config.rs"],
    },
    Layer {
        name: "store",
        rank: 3,
        files: &["store/"],
    },
    Layer {
        name: "engine",
        rank: 4,
        files: &["engine/"],
    },
    Layer {
        name: "settings",
        rank: 5,
        files: &["settings/"],
    },
    Layer {
        name: "front ends",
        rank: 6,
        files: &["cli/", "gui/"],
    },
    Layer {
        name: "binary",
        rank: 7,
        files: &["main.rs"],
    },
];

/// What sans-IO code never names: HTTP, servers, SQLite, the file system, sockets, the UI.
const IO_PATHS: &[&[&str]] = &[
    &["reqwest"],
    &["hyper"],
    &["axum"],
    &["rusqlite"],
    &["eframe"],
    &["egui"],
    &["std", "fs"],
    &["tokio", "fs"],
    &["std", "net"],
    &["tokio", "net"],
];

/// The first line of `src` that names one of [`IO_PATHS`], with the path.
fn io_named(src: &str) -> Option<(usize, String)> {
    let toks = tokens(src);
    let ident = |k: usize| match toks.get(k) {
        Some((Tok::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    (0..toks.len()).find_map(|i| {
        IO_PATHS.iter().find_map(|path| {
            let hit = path.iter().enumerate().all(|(n, seg)| {
                ident(i + 2 * n) == Some(seg)
                    && (n + 1 == path.len()
                        || toks.get(i + 2 * n + 1).is_some_and(|t| t.0 == Tok::Path))
            }) && !(i > 0 && toks[i - 1].0 == Tok::Path);
            hit.then(|| (toks[i].1, path.join("::")))
        })
    })
}

/// Whether `child`'s module is declared in `parent`'s (`engine/job/multipart.rs` in
/// `engine/job.rs`). A module and its own child may name each other: the child was split out
/// of the parent for length and uses its types (`super::CliError`), the parent calls or
/// re-exports it. Any other two files must not.
fn is_child_of(child: &str, parent: &str) -> bool {
    let (child, parent) = (module_path(child), module_path(parent));
    child.len() == parent.len() + 1 && child.starts_with(&parent)
}

/// The layer of a file (`engine/job.rs`), by the longest matching prefix.
fn layer_of(file: &str) -> Option<&'static Layer> {
    LAYERS
        .iter()
        .flat_map(|layer| layer.files.iter().map(move |prefix| (layer, *prefix)))
        .filter(|(_, prefix)| {
            if prefix.ends_with('/') {
                file.starts_with(prefix)
            } else {
                file == *prefix
            }
        })
        .max_by_key(|(_, prefix)| prefix.len())
        .map(|(layer, _)| layer)
}

/// The top-level module of a file: `engine` for `engine/job.rs`, `config` for `config.rs`.
fn top_module(file: &str) -> &str {
    file.split('/')
        .next()
        .unwrap_or(file)
        .trim_end_matches(".rs")
}

/// The module path of a file: `engine/job/multipart.rs` → `[engine, job, multipart]`.
fn module_path(file: &str) -> Vec<String> {
    let stem = file.trim_end_matches(".rs");
    let mut parts: Vec<String> = stem.split('/').map(str::to_owned).collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts
}

/// A token of Rust source, with its line.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    Path,
    Punct(char),
}

/// Whether a raw string (`r"…"`, `r#"…"#`, `br"…"`, `cr"…"`) starts at `i`.
fn raw_string_at(chars: &[char], i: usize) -> bool {
    let at = |k: usize| chars.get(k).copied().unwrap_or('\0');
    let r = match at(i) {
        'r' => i,
        'b' | 'c' if at(i + 1) == 'r' => i + 1,
        _ => return false,
    };
    let mut k = r + 1;
    while at(k) == '#' {
        k += 1;
    }
    at(k) == '"'
}

/// Splits source into identifiers and punctuation, skipping whitespace, comments, string,
/// character and number literals, and lifetimes.
fn tokens(src: &str) -> Vec<(Tok, usize)> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == '"' || (matches!(c, 'b' | 'c') && at(i + 1) == '"') {
            i += if c == '"' { 1 } else { 2 };
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                if at(i) == '\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 1;
        } else if raw_string_at(&chars, i) {
            // A raw string: r"…", r#"…"#, br"…", cr#"…"#.
            i += if c == 'r' { 1 } else { 2 };
            let mut hashes = 0;
            while at(i) == '#' {
                hashes += 1;
                i += 1;
            }
            i += 1; // the opening quote
            loop {
                if i >= chars.len() {
                    break;
                }
                if chars[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                    i += 1 + hashes;
                    break;
                }
                if chars[i] == '\n' {
                    line += 1;
                }
                i += 1;
            }
        } else if c == 'r' && at(i + 1) == '#' && (at(i + 2).is_alphabetic() || at(i + 2) == '_') {
            // A raw identifier: r#type.
            i += 2;
            let start = i;
            while at(i).is_alphanumeric() || at(i) == '_' {
                i += 1;
            }
            out.push((Tok::Ident(chars[start..i].iter().collect()), line));
        } else if c == '\'' || (c == 'b' && at(i + 1) == '\'') {
            let open = if c == 'b' { i + 1 } else { i };
            if at(open + 1) == '\\' {
                // An escaped character literal: '\n', '\u{1F600}', b'\''.
                i = open + 3;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if at(open + 2) == '\'' {
                i = open + 3;
            } else {
                // A lifetime or label: 'a, 'static.
                i = open + 1;
                while at(i).is_alphanumeric() || at(i) == '_' {
                    i += 1;
                }
            }
        } else if c.is_ascii_digit() {
            while at(i).is_alphanumeric()
                || at(i) == '_'
                || (at(i) == '.' && at(i + 1).is_ascii_digit())
            {
                i += 1;
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while at(i).is_alphanumeric() || at(i) == '_' {
                i += 1;
            }
            out.push((Tok::Ident(chars[start..i].iter().collect()), line));
        } else if c == ':' && at(i + 1) == ':' {
            out.push((Tok::Path, line));
            i += 2;
        } else {
            out.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    out
}

/// One path a file names, resolved to absolute module segments.
#[derive(Debug, Clone)]
struct Named {
    line: usize,
    /// As written, e.g. `crate::engine::api::ItemId` or `super::credentials`.
    written: String,
    /// From the crate root, e.g. `[engine, api, ItemId]`.
    absolute: Vec<String>,
}

/// The paths `src` names from inside module `module` (a file's module path), where `children`
/// are the names of that file's child modules.
fn named_paths(
    src: &str,
    module: &[String],
    children: &BTreeSet<String>,
    crate_name: &str,
) -> Vec<Named> {
    let toks = tokens(src);
    let mut out = Vec::new();
    // The inline modules we are in (`mod tests { … }`), with the brace depth they opened at.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    let ident = |k: usize| match toks.get(k) {
        Some((Tok::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    let is = |k: usize, t: &Tok| toks.get(k).is_some_and(|(x, _)| x == t);
    while i < toks.len() {
        let here: Vec<String> = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(name, _)| name.clone()))
            .collect();
        let line = toks[i].1;
        match &toks[i].0 {
            Tok::Punct('{') => {
                depth += 1;
                i += 1;
            }
            Tok::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            Tok::Ident(word)
                if word == "mod" && ident(i + 1).is_some() && is(i + 2, &Tok::Punct('{')) =>
            {
                inline.push((ident(i + 1).unwrap_or_default().to_owned(), depth + 1));
                i += 2;
            }
            Tok::Ident(word) if word == "use" && !is(i.wrapping_sub(1), &Tok::Path) => {
                // A use tree, up to its `;`.
                let end = (i..toks.len())
                    .find(|&k| is(k, &Tok::Punct(';')))
                    .unwrap_or(toks.len());
                let mut paths = Vec::new();
                use_tree(&toks[i + 1..end], &[], &mut paths);
                for path in paths {
                    let in_scope = |first: &str| {
                        first == "crate"
                            || first == "super"
                            || first == "self"
                            || first == crate_name
                            || (inline.is_empty() && children.contains(first))
                    };
                    if path.first().is_some_and(|f| in_scope(f))
                        && let Some(absolute) = resolve(&path, &here, crate_name)
                    {
                        out.push(Named {
                            line,
                            written: path.join("::"),
                            absolute,
                        });
                    }
                }
                i = end + 1;
            }
            Tok::Ident(word) if is(i + 1, &Tok::Path) && !is(i.wrapping_sub(1), &Tok::Path) => {
                let starts = word == "crate"
                    || word == "super"
                    || word == crate_name
                    || (inline.is_empty() && children.contains(word.as_str()))
                    || (word == "self" && ident(i + 2).is_some());
                // `$crate::…` in a macro is this crate too.
                if starts {
                    let mut path = vec![word.clone()];
                    let mut k = i + 1;
                    while is(k, &Tok::Path) && ident(k + 1).is_some() {
                        path.push(ident(k + 1).unwrap_or_default().to_owned());
                        k += 2;
                    }
                    if let Some(absolute) = resolve(&path, &here, crate_name) {
                        out.push(Named {
                            line,
                            written: path.join("::"),
                            absolute,
                        });
                    }
                    i = k;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// Expands a use tree (`a::{b, c::{d, e}}`) into its paths.
fn use_tree(toks: &[(Tok, usize)], prefix: &[String], out: &mut Vec<Vec<String>>) {
    // Split at top-level commas.
    let mut start = 0;
    let mut level = 0;
    let mut pieces = Vec::new();
    for (k, (tok, _)) in toks.iter().enumerate() {
        match tok {
            Tok::Punct('{') => level += 1,
            Tok::Punct('}') => level -= 1,
            Tok::Punct(',') if level == 0 => {
                pieces.push(&toks[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    pieces.push(&toks[start..]);
    for piece in pieces {
        let mut path = prefix.to_vec();
        let mut k = 0;
        let mut grouped = false;
        while k < piece.len() {
            match &piece[k].0 {
                Tok::Ident(word) if word == "as" => break,
                Tok::Ident(word) => path.push(word.clone()),
                Tok::Punct('{') => {
                    let close = piece.len() - 1;
                    use_tree(&piece[k + 1..close], &path, out);
                    grouped = true;
                    break;
                }
                Tok::Punct('*') => break,
                _ => {}
            }
            k += 1;
        }
        if !grouped && path.len() > prefix.len() {
            // `use a::b::{self}` names `a::b`.
            if path.last().is_some_and(|s| s == "self") && path.len() > 1 {
                path.pop();
            }
            out.push(path);
        }
    }
}

/// A written path as segments from the crate root, or `None` when it leaves the crate.
fn resolve(path: &[String], here: &[String], crate_name: &str) -> Option<Vec<String>> {
    let mut segs = path.iter().peekable();
    let mut base: Vec<String> = match segs.peek().map(|s| s.as_str()) {
        Some("crate") => {
            segs.next();
            Vec::new()
        }
        Some(name) if name == crate_name => {
            segs.next();
            Vec::new()
        }
        Some("self") => {
            segs.next();
            here.to_vec()
        }
        Some("super") => here.to_vec(),
        _ => here.to_vec(),
    };
    while segs.peek().is_some_and(|s| *s == "super") {
        segs.next();
        base.pop()?;
    }
    base.extend(segs.cloned());
    Some(base)
}

/// One import from a file to another.
#[derive(Debug, Clone)]
struct Edge {
    from: String,
    to: String,
    line: usize,
    written: String,
}

/// What the check found in a set of sources (`engine/job.rs` → its text).
struct Graph {
    edges: Vec<Edge>,
    problems: Vec<String>,
}

/// Reads every `.rs` file under `dir`, keyed by its path relative to `dir`.
fn read_sources(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Checks `sources` (the files of a `src/` folder) against [`LAYERS`].
fn check(sources: &BTreeMap<String, String>, crate_name: &str) -> Graph {
    let modules: BTreeMap<Vec<String>, String> = sources
        .keys()
        .filter(|f| f.as_str() != "main.rs")
        .map(|f| (module_path(f), f.clone()))
        .collect();
    let mut edges = Vec::new();
    let mut problems = Vec::new();
    for (file, src) in sources {
        if file == "lib.rs" {
            continue;
        }
        let Some(layer) = layer_of(file) else {
            problems.push(format!(
                "src/{file} is in no layer: add it to LAYERS in tests/layers.rs"
            ));
            continue;
        };
        let module = if file == "main.rs" {
            Vec::new()
        } else {
            module_path(file)
        };
        let children: BTreeSet<String> = modules
            .keys()
            .filter(|m| m.len() == module.len() + 1 && m.starts_with(&module))
            .filter_map(|m| m.last().cloned())
            .collect();
        let children = if file == "main.rs" {
            BTreeSet::new()
        } else {
            children
        };
        if layer.name == "protocol"
            && let Some((line, path)) = io_named(src)
        {
            problems.push(format!(
                "src/{file}:{line} (protocol) names `{path}`: protocol code is sans-IO; move it to a client"
            ));
        }
        for named in named_paths(src, &module, &children, crate_name) {
            // The file of the longest module prefix the path starts with.
            let Some(target) = (1..=named.absolute.len())
                .rev()
                .find_map(|n| modules.get(&named.absolute[..n]))
            else {
                continue;
            };
            if target == file || target == "lib.rs" {
                continue;
            }
            let Some(to_layer) = layer_of(target) else {
                continue;
            };
            let same_top = top_module(file) == top_module(target);
            let allowed = to_layer.rank < layer.rank || (same_top && to_layer.rank == layer.rank);
            if !allowed {
                let why = if to_layer.rank > layer.rank {
                    "a lower layer names a higher one"
                } else {
                    "one rank, two top-level modules: only lower layers may be named"
                };
                problems.push(format!(
                    "src/{file}:{} ({}) imports `{}` (src/{target}, {}): {why}",
                    named.line, layer.name, named.written, to_layer.name
                ));
            }
            edges.push(Edge {
                from: file.clone(),
                to: target.clone(),
                line: named.line,
                written: named.written,
            });
        }
    }
    // Files that import each other.
    let pairs: BTreeSet<(String, String)> = edges
        .iter()
        .map(|e| (e.from.clone(), e.to.clone()))
        .collect();
    for (a, b) in &pairs {
        if a < b
            && pairs.contains(&(b.clone(), a.clone()))
            && !is_child_of(a, b)
            && !is_child_of(b, a)
        {
            let line = |from: &str, to: &str| {
                edges
                    .iter()
                    .find(|e| e.from == from && e.to == to)
                    .map(|e| format!("src/{from}:{} `{}`", e.line, e.written))
                    .unwrap_or_default()
            };
            problems.push(format!(
                "src/{a} and src/{b} import each other: {} and {}",
                line(a, b),
                line(b, a)
            ));
        }
    }
    // Cycles between top-level modules.
    let tops: BTreeMap<&str, BTreeSet<&str>> = edges
        .iter()
        .map(|e| (top_module(&e.from), top_module(&e.to)))
        .filter(|(a, b)| a != b)
        .fold(BTreeMap::new(), |mut map, (a, b)| {
            map.entry(a).or_default().insert(b);
            map
        });
    if let Some(cycle) = find_cycle(&tops) {
        problems.push(format!(
            "top-level modules import each other in a cycle: {}",
            cycle.join(" → ")
        ));
    }
    Graph { edges, problems }
}

/// A cycle in `graph`, as its nodes with the first repeated at the end.
fn find_cycle<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>) -> Option<Vec<&'a str>> {
    fn visit<'a>(
        node: &'a str,
        graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(at) = stack.iter().position(|n| *n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node);
            return Some(cycle);
        }
        if !done.insert(node) {
            return None;
        }
        stack.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|node| visit(node, graph, &mut Vec::new(), &mut done))
}

/// The node of a file in the diagram: its top-level module, with its layer when the module
/// spans more than one (`tencent` has protocol files and clients).
fn node_of(file: &str, split: &BTreeSet<&str>) -> String {
    let top = top_module(file);
    match layer_of(file) {
        Some(layer) if split.contains(top) => format!("{top} ({})", layer.name),
        _ => top.to_owned(),
    }
}

/// The mermaid diagram of the module graph: one box per layer, one arrow per pair of modules
/// where the first names the second.
fn diagram(sources: &BTreeMap<String, String>, graph: &Graph) -> String {
    let files: Vec<&str> = sources
        .keys()
        .map(String::as_str)
        .filter(|f| *f != "lib.rs")
        .collect();
    let mut layers_of_top: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for file in &files {
        if let Some(layer) = layer_of(file) {
            layers_of_top
                .entry(top_module(file))
                .or_default()
                .insert(layer.name);
        }
    }
    let split: BTreeSet<&str> = layers_of_top
        .iter()
        .filter(|(_, layers)| layers.len() > 1)
        .map(|(top, _)| *top)
        .collect();
    let id = |node: &str| node.replace(" (", "_").replace(')', "").replace(' ', "_");
    let mut out = String::from("```mermaid\nflowchart TD\n");
    for layer in LAYERS.iter().rev() {
        let nodes: BTreeSet<String> = files
            .iter()
            .filter(|f| layer_of(f).is_some_and(|l| l.name == layer.name))
            .map(|f| node_of(f, &split))
            .collect();
        if nodes.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "    subgraph layer_{}[\"{}\"]",
            id(layer.name),
            layer.name
        );
        for node in nodes {
            let _ = writeln!(out, "        {}[\"{node}\"]", id(&node));
        }
        out.push_str("    end\n");
    }
    let arrows: BTreeSet<(String, String)> = graph
        .edges
        .iter()
        .map(|e| (node_of(&e.from, &split), node_of(&e.to, &split)))
        .filter(|(a, b)| a != b)
        .collect();
    for (a, b) in arrows {
        let _ = writeln!(out, "    {} --> {}", id(&a), id(&b));
    }
    out.push_str("```\n");
    out
}

/// The diagram block under the heading "The dependency diagram of the layers".
fn documented_diagram(architecture: &str) -> Option<String> {
    let start = architecture.find("## The dependency diagram of the layers")?;
    let rest = &architecture[start..];
    let open = rest.find("```mermaid")?;
    let body = &rest[open..];
    let close = body[3..].find("```")? + 3;
    Some(format!("{}```\n", &body[..close]))
}

#[test]
fn layers_only_point_down() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources = read_sources(&root.join("src"));
    let graph = check(&sources, "voddesk");
    let drawn = diagram(&sources, &graph);
    println!("{drawn}");
    assert!(
        graph.problems.is_empty(),
        "imports that do not point down:\n{}",
        graph.problems.join("\n")
    );
    let architecture = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    assert!(
        documented_diagram(&architecture).as_deref() == Some(drawn.as_str()),
        "ARCHITECTURE.md's dependency diagram of the layers differs from the code's; put this under its heading \"## The dependency diagram of the layers\":\n\n{drawn}"
    );
}

/// The check itself, on made-up sources: an upward import, one across two modules of one
/// rank, a `super::` out of a module, a pair of sibling files naming each other, a cycle of
/// top-level modules and a file in no layer are each caught; comments and literals are not
/// imports, and a module and its own child may name each other.
#[test]
fn the_layer_check_catches_what_points_up() {
    let store = concat!(
        "// use crate::engine::api::ItemId;\n",
        "const S: &str = r#\"crate::engine::api \"quoted\"\"#; const Q: char = '\"'; const T: &str = \"crate::engine\";\n",
        "use crate::{tencent::Credentials, engine::api::{self, ItemId}};\n",
    );
    let sources: BTreeMap<String, String> = [
        ("lib.rs", "pub mod cli; pub mod emulator; pub mod engine; pub mod gui; pub mod store; pub mod tencent;"),
        ("cli/mod.rs", "fn f() { let _ = crate::gui::Thing::default(); }\n"),
        ("emulator/mod.rs", "use crate::tencent::{xml, vod::Client};\n"),
        ("engine/mod.rs", "pub mod api;\nuse crate::store::Store;\n"),
        ("engine/api.rs", "pub type ItemId = i64;\n"),
        ("extra.rs", "fn lone() {}\n"),
        ("gui/mod.rs", "pub mod app; pub mod view;\nuse crate::engine::api::ItemId;\nfn f<'a>(x: &'a str) { app::g(); }\n"),
        ("gui/app.rs", "use super::Shared;\nuse super::view::Row;\n"),
        ("gui/view.rs", "fn f() -> super::app::App { x() }\n"),
        ("store/mod.rs", store),
        ("tencent/mod.rs", "pub mod xml; pub mod vod;\n"),
        (
            "tencent/xml.rs",
            "use super::vod::Client;\n// reqwest::get is for the clients\nfn f(e: &reqwest::Error) {}\n",
        ),
        ("tencent/vod.rs", "use super::xml;\n#[cfg(test)]\nmod tests {\n    use super::*;\n}\n"),
    ]
    .into_iter()
    .map(|(f, s)| (f.to_owned(), s.to_owned()))
    .collect();
    let mut found = check(&sources, "voddesk").problems;
    found.sort();
    let mut expected = vec![
        "src/cli/mod.rs:1 (front ends) imports `crate::gui::Thing::default` (src/gui/mod.rs, front ends): one rank, two top-level modules: only lower layers may be named",
        "src/emulator/mod.rs:1 (servers) imports `crate::tencent::vod::Client` (src/tencent/vod.rs, clients): one rank, two top-level modules: only lower layers may be named",
        "src/extra.rs is in no layer: add it to LAYERS in tests/layers.rs",
        "src/gui/app.rs and src/gui/view.rs import each other: src/gui/app.rs:2 `super::view::Row` and src/gui/view.rs:1 `super::app::App`",
        "src/store/mod.rs:3 (store) imports `crate::engine::api` (src/engine/api.rs, engine): a lower layer names a higher one",
        "src/store/mod.rs:3 (store) imports `crate::engine::api::ItemId` (src/engine/api.rs, engine): a lower layer names a higher one",
        "src/tencent/vod.rs and src/tencent/xml.rs import each other: src/tencent/vod.rs:1 `super::xml` and src/tencent/xml.rs:1 `super::vod::Client`",
        "src/tencent/xml.rs:3 (protocol) names `reqwest`: protocol code is sans-IO; move it to a client",
        "src/tencent/xml.rs:1 (protocol) imports `super::vod::Client` (src/tencent/vod.rs, clients): a lower layer names a higher one",
        "top-level modules import each other in a cycle: engine → store → engine",
    ];
    expected.sort_unstable();
    assert_eq!(found, expected);
}
