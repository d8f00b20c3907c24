//! The module structure: no two modules of a crate import each other, directly
//! or round a loop. A module's imports are the `crate::…` and `super::…`
//! paths it names outside its tests, resolved to the file of the longest
//! module prefix; `mod` declarations are containment, not imports.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every crate's `src` folder in the workspace.
fn crate_roots() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut roots = vec![root.join("src")];
    for group in ["services", "shared", "emulators"] {
        for entry in std::fs::read_dir(root.join(group)).expect("workspace folder").flatten() {
            let src = entry.path().join("src");
            if src.is_dir() {
                roots.push(src);
            }
        }
    }
    roots
}

/// `module path -> source`, for every `.rs` file under `src`.
fn modules(src: &Path) -> BTreeMap<Vec<String>, String> {
    let mut out = BTreeMap::new();
    let mut folders = vec![src.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("read folder").flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).expect("under src").with_extension("");
            let mut segments: Vec<String> = rel.iter().map(|s| s.to_string_lossy().to_string()).collect();
            if matches!(segments.last().map(String::as_str), Some("mod" | "lib" | "main")) {
                segments.pop();
            }
            let source = std::fs::read_to_string(&path).expect("read source");
            out.insert(segments, source);
        }
    }
    out
}

/// The code outside `#[cfg(test)]` (tests sit at the end of a file here),
/// without comments (a doc link is no import).
fn code(source: &str) -> String {
    let code = source.split("#[cfg(test)]").next().unwrap_or(source);
    code.lines().map(|l| l.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n")
}

/// The paths named after each `crate::` or `super::`; a use-tree group
/// (`{a, b::c}`) gives one path per member.
fn references(source: &str) -> Vec<(bool, Vec<String>)> {
    let mut out = Vec::new();
    for (anchor, is_super) in [("crate::", false), ("super::", true)] {
        let mut at = 0;
        while let Some(found) = source[at..].find(anchor) {
            let start = at + found;
            at = start + anchor.len();
            if source[..start].chars().last().is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
                continue;
            }
            let prefix = if is_super { vec!["super".to_string()] } else { Vec::new() };
            let mut paths = Vec::new();
            tree(&source.as_bytes()[at..], &mut 0, prefix, &mut paths);
            out.extend(paths.into_iter().map(|p| (is_super, p.into_iter().skip(usize::from(is_super)).collect())));
        }
    }
    out
}

/// Parses one use tree at `pos`, adding every path it names to `out`.
fn tree(text: &[u8], pos: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let skip_space = |pos: &mut usize| {
        while text.get(*pos).is_some_and(|b| b.is_ascii_whitespace()) {
            *pos += 1;
        }
    };
    skip_space(pos);
    if text.get(*pos) == Some(&b'{') {
        *pos += 1;
        loop {
            tree(text, pos, prefix.clone(), out);
            skip_space(pos);
            match text.get(*pos) {
                Some(b',') => *pos += 1,
                Some(b'}') => {
                    *pos += 1;
                    return;
                }
                _ => return,
            }
            skip_space(pos);
            if text.get(*pos) == Some(&b'}') {
                *pos += 1;
                return;
            }
        }
    }
    let name_start = *pos;
    while text.get(*pos).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_') {
        *pos += 1;
    }
    let mut path = prefix;
    if *pos > name_start {
        path.push(String::from_utf8_lossy(&text[name_start..*pos]).to_string());
    }
    if text.get(*pos..*pos + 2) == Some(b"::") {
        *pos += 2;
        tree(text, pos, path, out);
    } else {
        out.push(path);
    }
}

/// The module files each module imports.
fn imports(mods: &BTreeMap<Vec<String>, String>) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mut graph = BTreeMap::new();
    for (module, source) in mods {
        let mut targets = BTreeSet::new();
        for (is_super, segments) in references(&code(source)) {
            let mut path = if is_super { module[..module.len().saturating_sub(1)].to_vec() } else { Vec::new() };
            let ups = segments.iter().take_while(|s| *s == "super").count();
            path.truncate(path.len().saturating_sub(ups));
            let mut target = path.clone();
            for segment in segments.into_iter().skip(ups) {
                path.push(segment);
                if mods.contains_key(&path) {
                    target = path.clone();
                }
            }
            if target != *module && !module.starts_with(&target) {
                targets.insert(target);
            }
        }
        graph.insert(module.clone(), targets);
    }
    graph
}

/// One loop of the graph, if it has any.
fn a_cycle(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Option<Vec<Vec<String>>> {
    fn visit(
        node: &Vec<String>,
        graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        done: &mut BTreeSet<Vec<String>>,
        stack: &mut Vec<Vec<String>>,
    ) -> Option<Vec<Vec<String>>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            return Some(stack[at..].to_vec());
        }
        if !done.insert(node.clone()) {
            return None;
        }
        stack.push(node.clone());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, stack) {
                return Some(cycle);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|node| visit(node, graph, &mut done, &mut Vec::new()))
}

#[test]
fn no_crate_has_an_import_cycle() {
    let mut checked = 0;
    for src in crate_roots() {
        let mods = modules(&src);
        checked += mods.len();
        if let Some(cycle) = a_cycle(&imports(&mods)) {
            let names: Vec<String> = cycle.iter().map(|m| m.join("::")).collect();
            panic!("import cycle in {}: {}", src.display(), names.join(" -> "));
        }
    }
    assert!(checked > 100, "only {checked} modules read");
}

#[test]
fn a_cycle_is_found_through_super_and_crate_paths() {
    let files = [
        (vec!["a".to_string()], "use crate::b::thing;\n#[cfg(test)]\nmod tests { use crate::c::x; }"),
        (vec!["b".to_string()], "pub fn thing() { crate::c::{other, more}(); }"),
        (vec!["c".to_string()], "pub mod d;"),
        (vec!["c".to_string(), "d".to_string()], "use super::super::a::X;"),
    ];
    let mods: BTreeMap<Vec<String>, String> = files.iter().map(|(p, s)| (p.clone(), s.to_string())).collect();
    let graph = imports(&mods);
    assert!(graph[&vec!["a".to_string()]].contains(&vec!["b".to_string()]));
    assert!(!graph[&vec!["a".to_string()]].contains(&vec!["c".to_string()]), "tests are not imports");
    assert!(a_cycle(&graph).is_none(), "{graph:?}");
    let mut mods = mods;
    mods.insert(vec!["e".to_string()], "use crate::{c::d::Z, b, self};".to_string());
    let graph = imports(&mods);
    let e: BTreeSet<Vec<String>> = [vec!["b".to_string()], vec!["c".to_string(), "d".to_string()]].into();
    assert_eq!(graph[&vec!["e".to_string()]], e, "every member of a use group");
    mods.insert(vec!["c".to_string()], "pub mod d; use crate::b::thing;".to_string());
    mods.insert(vec!["b".to_string()], "use crate::c::d::Y;".to_string());
    let cycle = a_cycle(&imports(&mods)).expect("b -> c::d -> a -> b");
    assert_eq!(cycle.len(), 3, "{cycle:?}");
}
