//! The users page both consoles show (the edge's users, the hub's users):
//! the list, role changes, second-factor resets, disabling and the new-user
//! form. Each console acts on the forms with its own store and audit log.

use super::frame::Chrome;
use askama::Template;

/// One user as the page shows them.
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub role: String,
    pub created: String,
    pub disabled: bool,
}

/// The users page, with its forms.
#[derive(Template)]
#[template(path = "console/users.html")]
pub struct UsersPage {
    pub chrome: Chrome,
    pub users: Vec<UserRow>,
    pub roles: Vec<&'static str>,
    /// Whether users may be limited to devices (the edge; hub users see
    /// every edge).
    pub devices: bool,
}
