//! What every handler can reach.

use novij_runtime::Runtime;

#[derive(Clone)]
pub struct AppState {
    pub rt: Runtime,
}
