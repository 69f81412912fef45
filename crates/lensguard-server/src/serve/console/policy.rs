//! The policy (`policy:manage`): view and edit the TOML in force, with
//! validation errors located by line and column, and the dry run on an
//! uploaded photo (what `lensguard policy explain` prints: the verdict,
//! what would be stored and for how long, what would leave the device;
//! nothing is stored or sent). Reading and changing go through the API's
//! own handlers ([`super::super::policy_api`]); a dry run is audited
//! (`policy.explain`).

use super::super::policy_api as api;
use super::super::state::AppState;
use super::page::Page;
use super::render::{self, Chrome};
use askama::Template;
use axum::Form;
use axum::body::Body;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use lensguard_core::access::needs::PolicyManage;
use lensguard_store::audit::Outcome;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "console/policy.html")]
struct PolicyPage {
    chrome: Chrome,
    toml: String,
    errors: Vec<String>,
    saved: String,
    explained: Option<crate::dry_run::Explanation>,
}

impl PolicyPage {
    fn new(chrome: Chrome, toml: String) -> Self {
        PolicyPage {
            chrome,
            toml,
            errors: Vec::new(),
            saved: String::new(),
            explained: None,
        }
    }
}

/// The policy in force as TOML, through the API (audited `policy.read`).
async fn current(state: &AppState, page: Page<PolicyManage>) -> Result<(Chrome, String), Response> {
    let chrome = page.chrome.clone();
    let answer = api::get(State(state.clone()), page.auth).await;
    if !answer.status().is_success() {
        return Err(render::api_error(&chrome, "Policy", answer).await);
    }
    let bytes = axum::body::to_bytes(answer.into_body(), 1024 * 1024)
        .await
        .unwrap_or_default();
    Ok((chrome, String::from_utf8_lossy(&bytes).into_owned()))
}

/// `GET /console/policy`.
pub async fn view(State(state): State<AppState>, page: Page<PolicyManage>) -> Response {
    match current(&state, page).await {
        Ok((chrome, toml)) => render::ok(&PolicyPage::new(chrome, toml)),
        Err(answer) => answer,
    }
}

/// The edit form.
#[derive(Deserialize)]
pub struct EditForm {
    #[serde(default)]
    toml: String,
    #[serde(default)]
    csrf: String,
}

/// `POST /console/policy`: the API's replacement (validated, revision up,
/// audited, written atomically); errors come back beside the text as sent.
pub async fn edit(
    State(state): State<AppState>,
    page: Page<PolicyManage>,
    Form(form): Form<EditForm>,
) -> Response {
    if let Err(refused) = page.check_form(&state, &form.csrf).await {
        return refused;
    }
    let chrome = page.chrome.clone();
    let answer = api::put(
        State(state.clone()),
        page.auth,
        Body::from(form.toml.clone()),
    )
    .await;
    let status = answer.status();
    let mut shown = PolicyPage::new(chrome, form.toml);
    if status.is_success() {
        let json = render::api_json(answer).await.unwrap_or_default();
        shown.saved = format!(
            "Saved: revision {} is in force for the next photo.",
            json.get("revision")
                .map_or_else(String::new, ToString::to_string)
        );
        return render::ok(&shown);
    }
    let message = render::api_message(answer).await;
    shown.errors = message.lines().map(str::to_owned).collect();
    render::page(status, &shown)
}

/// `POST /console/policy/explain` (multipart: the form token and a photo).
pub async fn explain(
    State(state): State<AppState>,
    page: Page<PolicyManage>,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let chrome = page.chrome.clone();
    let bad = |why: &str| render::error_page(&chrome, StatusCode::BAD_REQUEST, "No dry run", why);
    let Ok(mut multipart) = multipart else {
        return bad("Send the form with a photo.");
    };
    let (mut csrf, mut photo, mut name) = (String::new(), None, String::from("upload"));
    loop {
        match multipart.next_field().await {
            Ok(Some(field)) => match field.name() {
                Some("csrf") => csrf = field.text().await.unwrap_or_default(),
                Some("photo") => {
                    name = field.file_name().unwrap_or("upload").to_owned();
                    match field.bytes().await {
                        Ok(b) => photo = Some(b),
                        Err(_) => return bad("The photo could not be read (at most 50 MiB)."),
                    }
                }
                _ => {}
            },
            Ok(None) => break,
            Err(_) => return bad("The form could not be read."),
        }
    }
    if let Err(refused) = page.check_form(&state, &csrf).await {
        return refused;
    }
    let Some(photo) = photo.filter(|p| !p.is_empty()) else {
        return bad("Choose a photo to run the policy on.");
    };
    let policy = state.intake.policy();
    let detectors = std::sync::Arc::clone(&state.intake.detectors);
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    let label = name.clone();
    let ran = tokio::task::spawn_blocking(move || {
        crate::dry_run::explain(
            std::path::Path::new(&label),
            &photo,
            &policy,
            &detectors,
            now,
        )
    })
    .await;
    let Ok(Ok(mut explained)) = ran else {
        return render::error_page(
            &chrome,
            StatusCode::INTERNAL_SERVER_ERROR,
            "No dry run",
            "The dry run failed.",
        );
    };
    explained.policy_source = "the policy in force".into();
    let event = page
        .auth
        .ctx
        .event(
            page.auth.granted.principal().actor.to_string(),
            "policy.explain",
        )
        .target(format!("policy:{}", explained.policy))
        .outcome(
            Outcome::Success,
            Some(format!(
                "dry run; verdict {}; nothing stored",
                explained.verdict
            )),
        );
    if state.audit(event).await.is_err() {
        return render::unavailable(&chrome);
    }
    match current(&state, page).await {
        Ok((chrome, toml)) => render::ok(&PolicyPage {
            explained: Some(explained),
            ..PolicyPage::new(chrome, toml)
        }),
        Err(answer) => answer,
    }
}
