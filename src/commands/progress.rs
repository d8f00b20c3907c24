//! Progress of long work on a terminal: one line on stderr, rewritten in
//! place, at most every 1,000 items; nothing when stderr is not a terminal
//! (a script reads stdout alone).

use std::io::{IsTerminal as _, Write as _};

pub struct Progress {
    what: &'static str,
    shown: u64,
    on_terminal: bool,
}

impl Progress {
    pub fn new(what: &'static str) -> Progress {
        Progress { what, shown: 0, on_terminal: std::io::stderr().is_terminal() }
    }

    /// `done` of `total` items.
    pub fn at(&mut self, done: u64, total: u64) {
        if self.on_terminal && (done == total || done >= self.shown + 1000) {
            self.shown = done;
            eprint!("\r{} {done}/{total}", self.what);
            let _ = std::io::stderr().flush();
        }
    }

    /// Ends the line.
    pub fn done(self) {
        if self.on_terminal && self.shown > 0 {
            eprintln!();
        }
    }
}
