//! The aggregates. Each is a state folded from its events, read through the
//! upcasters (`evolve`), and a pure `decide(state, command)` that answers
//! with the events to append or a refusal a caller can branch on. Loading
//! and appending are the callers' (the log fences the append on the last
//! sequence folded); nothing here does I/O.

pub mod api_key;
pub mod broadcast;
pub mod command;
pub mod connect_code;
pub mod inbound;
pub mod incident;
pub mod integration;
pub mod recipient;
pub mod send;
pub mod upload;

#[cfg(test)]
mod testing;

use novij_events::AnyEvent;

/// State folded from one aggregate's events.
pub trait Aggregate: Default {
    /// The aggregate type: the second token of its subjects (`nt.ev.<type>.<id>.*`).
    const TYPE: &'static str;

    /// The state after `event`. Events of other aggregates leave it as it is.
    fn evolve(self, event: &AnyEvent) -> Self;
}

/// An aggregate as loaded: its state and the log sequence of its last event,
/// which the next append is fenced on (0: no events yet).
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded<A> {
    pub state: A,
    pub version: u64,
}

/// Folds decoded events, in log order, with their sequences.
pub fn fold<A: Aggregate>(history: impl IntoIterator<Item = (AnyEvent, u64)>) -> Loaded<A> {
    history.into_iter().fold(Loaded { state: A::default(), version: 0 }, |loaded, (event, sequence)| Loaded {
        state: loaded.state.evolve(&event),
        version: sequence,
    })
}
