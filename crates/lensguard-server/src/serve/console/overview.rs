//! The overview: where a signed-in user lands.

use super::super::state::AppState;
use super::page::Page;
use super::render::{self, Chrome};
use askama::Template;
use axum::extract::State;
use axum::response::Response;
use lensguard_core::access::needs::InspectionsRead;

#[derive(Template)]
#[template(path = "console/overview.html")]
struct OverviewPage {
    chrome: Chrome,
}

/// `GET /console/`.
pub async fn page(State(_state): State<AppState>, page: Page<InspectionsRead>) -> Response {
    render::ok(&OverviewPage {
        chrome: page.chrome,
    })
}
