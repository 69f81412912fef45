//! `[sso]`: signing in through the organisation's OpenID providers, the
//! mapping from their groups to lensguard roles and device scopes, how a
//! second factor is proven, and whether SCIM provisions the people.
//!
//! Invariants of the validated [`SsoConfig`]:
//! - every provider's issuer and redirect URL are `https://`, its name is a
//!   valid source name and unique, and its signature algorithms are
//!   asymmetric ones this build verifies (never `none`, never HMAC);
//! - a person's role is the most powerful role of the mappings their groups
//!   match ([`SsoConfig::grant`]); no match, no access; `owner` only where a
//!   mapping names it;
//! - a person's devices are every device when any matching mapping of that
//!   role names none, else the union of the mappings' patterns.

use crate::access::Role;
use crate::devices::DeviceScope;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// The signature algorithms accepted when a provider names none.
pub const DEFAULT_ALGORITHMS: [&str; 2] = ["RS256", "ES256"];
/// The algorithms a provider may name.
pub const KNOWN_ALGORITHMS: [&str; 8] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
];

/// `[sso]`, as written. Off without providers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoSection {
    /// `just_in_time` (default: people are created at their first sign-in
    /// and their role follows the provider's claims at each sign-in) or
    /// `scim` (only people provisioned by SCIM may sign in; their groups
    /// come from SCIM).
    pub provisioning: Option<String>,
    /// Lifetime of a session opened through a provider, in hours (1 to 24,
    /// default 8): the longest a person removed at the provider keeps
    /// access without SCIM.
    pub session_hours: Option<u32>,
    /// Who must prove a second factor: `privileged` (owners and admins,
    /// default) or `everyone`.
    pub require_mfa: Option<String>,
    /// `[[sso.roles]]`: groups to roles.
    #[serde(default)]
    pub roles: Vec<RoleMappingSection>,
    /// `[[sso.providers]]`.
    #[serde(default)]
    pub providers: Vec<ProviderSection>,
}

/// `[[sso.roles]]`, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleMappingSection {
    /// The group's name as the provider's groups claim (or SCIM's
    /// `displayName`) carries it.
    pub group: String,
    /// The lensguard role its members hold.
    pub role: String,
    /// Device patterns (`dock-*`) its members may read; none: every device.
    pub devices: Option<Vec<String>>,
}

/// `[[sso.providers]]`, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSection {
    /// Short name (in URLs, the audit log and session records).
    pub name: String,
    /// The sign-in button's text. Default: the name.
    pub label: Option<String>,
    /// The issuer URL (discovery is read from
    /// `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    /// This service's client id at the provider.
    pub client_id: String,
    /// File holding the client secret.
    pub client_secret_file: PathBuf,
    /// CA certificates for the provider's TLS (default: the system's).
    pub ca_file: Option<PathBuf>,
    /// Where the provider sends the browser back:
    /// `https://<this service>/console/sso/<name>/callback`.
    pub redirect_url: String,
    /// Scopes asked for besides `openid` (default `profile`, `email`).
    pub scopes: Option<Vec<String>>,
    /// The ID token claim listing the person's groups (default `groups`).
    pub groups_claim: Option<String>,
    /// The claim that becomes the lensguard user name (default
    /// `preferred_username`); under SCIM it must equal the SCIM `userName`.
    pub username_claim: Option<String>,
    /// Accepted ID token signature algorithms (default RS256, ES256).
    pub algorithms: Option<Vec<String>>,
    /// Clock skew allowed on `exp` and `iat`, seconds (0 to 300, default 60).
    pub clock_skew_seconds: Option<u32>,
    /// The least time between two fetches of the provider's keys for an
    /// unknown `kid`, seconds (0 to 3600, default 60).
    pub jwks_refetch_seconds: Option<u32>,
    /// How people who need a second factor prove it: `provider` (the ID
    /// token's `amr` or `acr` must be one of the accepted values) or `totp`
    /// (lensguard's own TOTP step-up after the provider). Default `totp`.
    pub mfa: Option<String>,
    /// `amr` values that prove a second factor (default `mfa`, `otp`,
    /// `hwk`).
    pub accepted_amr: Option<Vec<String>>,
    /// `acr` values that prove a second factor (default none).
    pub accepted_acr: Option<Vec<String>>,
}

/// How people are provisioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provisioning {
    /// Created at first sign-in; roles follow the claims.
    JustInTime,
    /// Only SCIM creates people; claims only authenticate.
    Scim,
}

/// Who must prove a second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaRequired {
    /// Owners and admins.
    Privileged,
    /// Everyone (organisation-wide enforcement).
    Everyone,
}

/// How a provider's people prove a second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaProof {
    /// The ID token says so: one of these `amr` or `acr` values.
    Provider {
        /// Accepted `amr` values.
        amr: Vec<String>,
        /// Accepted `acr` values.
        acr: Vec<String>,
    },
    /// lensguard's TOTP step-up.
    Totp,
}

/// One group's grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleMapping {
    /// Group name.
    pub group: String,
    /// Role.
    pub role: Role,
    /// Devices (`None`: every device).
    pub devices: Option<DeviceScope>,
}

/// A validated provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// Short name.
    pub name: String,
    /// Button text.
    pub label: String,
    /// Issuer URL.
    pub issuer: String,
    /// Client id.
    pub client_id: String,
    /// Client secret file.
    pub client_secret_file: PathBuf,
    /// Provider CA file.
    pub ca_file: Option<PathBuf>,
    /// Redirect URL.
    pub redirect_url: String,
    /// Scopes besides `openid`.
    pub scopes: Vec<String>,
    /// Groups claim.
    pub groups_claim: String,
    /// User name claim.
    pub username_claim: String,
    /// Accepted algorithms.
    pub algorithms: Vec<String>,
    /// Allowed clock skew.
    pub clock_skew: Duration,
    /// Least time between key fetches.
    pub jwks_refetch: Duration,
    /// How a second factor is proven.
    pub mfa: MfaProof,
}

/// Validated `[sso]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoConfig {
    /// How people are provisioned.
    pub provisioning: Provisioning,
    /// Session lifetime.
    pub session_lifetime: Duration,
    /// Who must prove a second factor.
    pub require_mfa: MfaRequired,
    /// Groups to roles.
    pub roles: Vec<RoleMapping>,
    /// Providers.
    pub providers: Vec<ProviderConfig>,
}

impl SsoConfig {
    /// The role and devices of a person in `groups`; `None`: no mapping
    /// matches, no access.
    pub fn grant<S: AsRef<str>>(&self, groups: &[S]) -> Option<(Role, Option<DeviceScope>)> {
        let matching: Vec<&RoleMapping> = self
            .roles
            .iter()
            .filter(|m| groups.iter().any(|g| g.as_ref() == m.group))
            .collect();
        let role = matching.iter().map(|m| m.role).min()?;
        let of_role: Vec<&&RoleMapping> = matching.iter().filter(|m| m.role == role).collect();
        if of_role.iter().any(|m| m.devices.is_none()) {
            return Some((role, None));
        }
        let patterns: Vec<String> = of_role
            .iter()
            .filter_map(|m| m.devices.as_ref())
            .flat_map(|d| d.patterns().iter().cloned())
            .collect();
        Some((role, DeviceScope::new(&patterns).ok()))
    }

    /// Whether `role` must prove a second factor.
    pub fn needs_mfa(&self, role: Role) -> bool {
        match self.require_mfa {
            MfaRequired::Everyone => true,
            MfaRequired::Privileged => matches!(role, Role::Owner | Role::Admin),
        }
    }

    /// The provider named `name`.
    pub fn provider(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.name == name)
    }
}

fn https(at: &str, url: &str, problems: &mut Vec<String>) {
    if !url.starts_with("https://") || url.len() <= "https://".len() {
        problems.push(format!("{at}: {url:?} must be an https:// URL"));
    }
}

fn seconds(
    at: &str,
    value: Option<u32>,
    default: u32,
    max: u32,
    problems: &mut Vec<String>,
) -> Duration {
    let v = value.unwrap_or(default);
    if v > max {
        problems.push(format!("{at}: {v} is more than {max}"));
    }
    Duration::from_secs(u64::from(v.min(max)))
}

impl ProviderSection {
    fn validate(&self, at: &str, problems: &mut Vec<String>) -> ProviderConfig {
        if let Some(p) = super::name_problem(at, &self.name) {
            problems.push(p);
        }
        https(&format!("{at}.issuer"), &self.issuer, problems);
        https(&format!("{at}.redirect_url"), &self.redirect_url, problems);
        let callback = format!("/console/sso/{}/callback", self.name);
        if !self.redirect_url.ends_with(&callback) {
            problems.push(format!(
                "{at}.redirect_url: {:?} must end with {callback}",
                self.redirect_url
            ));
        }
        if self.client_id.is_empty() {
            problems.push(format!("{at}.client_id: empty"));
        }
        let algorithms = self
            .algorithms
            .clone()
            .unwrap_or_else(|| DEFAULT_ALGORITHMS.map(str::to_owned).to_vec());
        if algorithms.is_empty() {
            problems.push(format!("{at}.algorithms: name at least one"));
        }
        for alg in &algorithms {
            if !KNOWN_ALGORITHMS.contains(&alg.as_str()) {
                problems.push(format!(
                    "{at}.algorithms: {alg:?} is not one of {}",
                    KNOWN_ALGORITHMS.join(", ")
                ));
            }
        }
        let mfa = match self.mfa.as_deref().unwrap_or("totp") {
            "totp" => MfaProof::Totp,
            "provider" => {
                let amr = self
                    .accepted_amr
                    .clone()
                    .unwrap_or_else(|| ["mfa", "otp", "hwk"].map(str::to_owned).to_vec());
                let acr = self.accepted_acr.clone().unwrap_or_default();
                if amr.is_empty() && acr.is_empty() {
                    problems.push(format!(
                        "{at}.mfa: \"provider\" needs accepted_amr or accepted_acr values"
                    ));
                }
                MfaProof::Provider { amr, acr }
            }
            other => {
                problems.push(format!("{at}.mfa: {other:?} is not totp or provider"));
                MfaProof::Totp
            }
        };
        ProviderConfig {
            name: self.name.clone(),
            label: self.label.clone().unwrap_or_else(|| self.name.clone()),
            issuer: self.issuer.trim_end_matches('/').to_owned(),
            client_id: self.client_id.clone(),
            client_secret_file: self.client_secret_file.clone(),
            ca_file: self.ca_file.clone(),
            redirect_url: self.redirect_url.clone(),
            scopes: self
                .scopes
                .clone()
                .unwrap_or_else(|| vec!["profile".to_owned(), "email".to_owned()]),
            groups_claim: self
                .groups_claim
                .clone()
                .unwrap_or_else(|| "groups".to_owned()),
            username_claim: self
                .username_claim
                .clone()
                .unwrap_or_else(|| "preferred_username".to_owned()),
            algorithms,
            clock_skew: seconds(
                &format!("{at}.clock_skew_seconds"),
                self.clock_skew_seconds,
                60,
                300,
                problems,
            ),
            jwks_refetch: seconds(
                &format!("{at}.jwks_refetch_seconds"),
                self.jwks_refetch_seconds,
                60,
                3600,
                problems,
            ),
            mfa,
        }
    }
}

impl SsoSection {
    /// `None` when no provider is configured and SCIM is off; problems are
    /// added to `problems`.
    pub fn validate(&self, problems: &mut Vec<String>) -> Option<SsoConfig> {
        let provisioning = match self.provisioning.as_deref().unwrap_or("just_in_time") {
            "just_in_time" => Provisioning::JustInTime,
            "scim" => Provisioning::Scim,
            other => {
                problems.push(format!(
                    "sso.provisioning: {other:?} is not just_in_time or scim"
                ));
                Provisioning::JustInTime
            }
        };
        if self.providers.is_empty() && provisioning != Provisioning::Scim {
            if !self.roles.is_empty() {
                problems.push("sso.roles: no [[sso.providers]] to map from".to_owned());
            }
            return None;
        }
        let hours = self.session_hours.unwrap_or(8);
        if !(1..=24).contains(&hours) {
            problems.push(format!("sso.session_hours: {hours} is not 1 to 24"));
        }
        let require_mfa = match self.require_mfa.as_deref().unwrap_or("privileged") {
            "privileged" => MfaRequired::Privileged,
            "everyone" => MfaRequired::Everyone,
            other => {
                problems.push(format!(
                    "sso.require_mfa: {other:?} is not privileged or everyone"
                ));
                MfaRequired::Privileged
            }
        };
        let mut roles = Vec::new();
        for (i, m) in self.roles.iter().enumerate() {
            let at = format!("sso.roles[{i}]");
            if m.group.is_empty() {
                problems.push(format!("{at}.group: empty"));
            }
            let Ok(role) = m.role.parse::<Role>() else {
                problems.push(format!("{at}.role: {:?} is not a role", m.role));
                continue;
            };
            let devices = match &m.devices {
                None => None,
                Some(d) => match DeviceScope::new(d) {
                    Ok(s) => Some(s),
                    Err(e) => {
                        problems.push(format!("{at}.devices: {e}"));
                        None
                    }
                },
            };
            roles.push(RoleMapping {
                group: m.group.clone(),
                role,
                devices,
            });
        }
        let mut providers: Vec<ProviderConfig> = Vec::new();
        for (i, p) in self.providers.iter().enumerate() {
            let config = p.validate(&format!("sso.providers[{i}]"), problems);
            if providers.iter().any(|q| q.name == config.name) {
                problems.push(format!(
                    "sso.providers[{i}].name: {:?} is used twice",
                    config.name
                ));
            }
            providers.push(config);
        }
        Some(SsoConfig {
            provisioning,
            session_lifetime: Duration::from_secs(u64::from(hours.clamp(1, 24)) * 3600),
            require_mfa,
            roles,
            providers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(name: &str) -> ProviderSection {
        ProviderSection {
            name: name.to_owned(),
            issuer: "https://idp.example/".to_owned(),
            client_id: "lensguard".to_owned(),
            client_secret_file: "secret".into(),
            redirect_url: format!("https://gw.example/console/sso/{name}/callback"),
            ..ProviderSection::default()
        }
    }

    fn mapping(group: &str, role: &str, devices: Option<&[&str]>) -> RoleMappingSection {
        RoleMappingSection {
            group: group.to_owned(),
            role: role.to_owned(),
            devices: devices.map(|d| d.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    fn config(roles: Vec<RoleMappingSection>) -> SsoConfig {
        let section = SsoSection {
            roles,
            providers: vec![provider("corp")],
            ..SsoSection::default()
        };
        let mut problems = Vec::new();
        let c = section.validate(&mut problems).expect("configured");
        assert!(problems.is_empty(), "{problems:?}");
        c
    }

    #[test]
    fn defaults_are_safe() {
        let c = config(vec![]);
        assert_eq!(c.provisioning, Provisioning::JustInTime);
        assert_eq!(c.session_lifetime, Duration::from_secs(8 * 3600));
        assert_eq!(c.require_mfa, MfaRequired::Privileged);
        let p = &c.providers[0];
        assert_eq!(p.algorithms, ["RS256", "ES256"]);
        assert_eq!(p.issuer, "https://idp.example");
        assert_eq!(p.mfa, MfaProof::Totp);
        assert!(c.needs_mfa(Role::Owner) && c.needs_mfa(Role::Admin));
        assert!(!c.needs_mfa(Role::Viewer));
    }

    #[test]
    fn the_most_powerful_matching_role_wins_and_no_match_is_no_access() {
        let c = config(vec![
            mapping("staff", "viewer", Some(&["dock-*"])),
            mapping("ops", "operator", None),
            mapping("admins", "admin", None),
        ]);
        assert_eq!(c.grant(&["nobody"]), None);
        assert_eq!(c.grant::<&str>(&[]), None);
        assert_eq!(c.grant(&["staff", "admins"]), Some((Role::Admin, None)));
        let (role, devices) = c.grant(&["staff"]).expect("mapped");
        assert_eq!(role, Role::Viewer);
        assert_eq!(devices.expect("scoped").patterns(), ["dock-*"]);
    }

    #[test]
    fn devices_are_every_device_when_one_mapping_of_the_role_names_none() {
        let c = config(vec![
            mapping("north", "viewer", Some(&["north-*"])),
            mapping("south", "viewer", Some(&["south-*"])),
            mapping("all", "viewer", None),
        ]);
        let (_, d) = c.grant(&["north", "south"]).expect("mapped");
        assert_eq!(d.expect("scoped").patterns(), ["north-*", "south-*"]);
        assert_eq!(c.grant(&["north", "all"]), Some((Role::Viewer, None)));
    }

    #[test]
    fn owner_is_only_granted_where_a_mapping_names_it() {
        let c = config(vec![mapping("admins", "admin", None)]);
        assert_eq!(c.grant(&["admins", "owners"]), Some((Role::Admin, None)));
        let c = config(vec![mapping("owners", "owner", None)]);
        assert_eq!(c.grant(&["owners"]), Some((Role::Owner, None)));
    }

    #[test]
    fn weak_or_unknown_algorithms_and_plain_http_are_refused() {
        let mut p = provider("corp");
        p.algorithms = Some(vec!["none".into(), "HS256".into()]);
        p.issuer = "http://idp.example".into();
        p.redirect_url = "https://gw.example/elsewhere".into();
        let section = SsoSection {
            providers: vec![p.clone(), p],
            require_mfa: Some("sometimes".into()),
            session_hours: Some(48),
            ..SsoSection::default()
        };
        let mut problems = Vec::new();
        section.validate(&mut problems);
        let text = problems.join("\n");
        for needle in [
            "\"none\" is not one of",
            "\"HS256\" is not one of",
            "issuer: \"http://idp.example\" must be an https:// URL",
            "must end with /console/sso/corp/callback",
            "\"corp\" is used twice",
            "sso.require_mfa",
            "sso.session_hours: 48",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from {text}");
        }
    }

    #[test]
    fn provider_mfa_needs_accepted_values() {
        let mut p = provider("corp");
        p.mfa = Some("provider".into());
        p.accepted_amr = Some(vec![]);
        let section = SsoSection {
            providers: vec![p],
            ..SsoSection::default()
        };
        let mut problems = Vec::new();
        section.validate(&mut problems);
        assert!(
            problems.iter().any(|p| p.contains("needs accepted_amr")),
            "{problems:?}"
        );
    }
}
