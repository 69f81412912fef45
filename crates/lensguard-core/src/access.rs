//! Roles, scopes and the capability that proves a permission was checked.
//!
//! A handler that needs a permission takes a [`Granted<S>`] argument, where `S`
//! is a scope marker from [`needs`]. The only way to make one is [`authorize`],
//! so a privileged handler cannot be reached without the check, and the check
//! lives in one place. Roles are fixed sets of scopes (see [`Role::scopes`] and
//! `docs/access.md`); API keys carry scopes directly.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

/// A permission.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
pub enum Scope {
    /// Submit photos for inspection.
    #[serde(rename = "inspections:write")]
    InspectionsWrite,
    /// Read inspection results.
    #[serde(rename = "inspections:read")]
    InspectionsRead,
    /// Read the audit log and its proofs.
    #[serde(rename = "audit:read")]
    AuditRead,
    /// Create, rotate and revoke API keys.
    #[serde(rename = "keys:manage")]
    KeysManage,
    /// Create users and change roles.
    #[serde(rename = "users:manage")]
    UsersManage,
    /// Change the policy.
    #[serde(rename = "policy:manage")]
    PolicyManage,
    /// Read original photos (with a stated reason; every read is audited).
    #[serde(rename = "evidence:read-original")]
    EvidenceReadOriginal,
    /// Place and lift legal holds, erase a device's data, rotate vault keys.
    #[serde(rename = "evidence:manage")]
    EvidenceManage,
    /// Read the outbox and delivery metrics (`GET /metrics`).
    #[serde(rename = "metrics:read")]
    MetricsRead,
    /// List evidence cases and what they hold.
    #[serde(rename = "cases:read")]
    CasesRead,
    /// Open, fill and close evidence cases (adding places a hold), and
    /// export their bundles (redacted media only).
    #[serde(rename = "cases:manage")]
    CasesManage,
    /// Override a retry or fail verdict with a stated reason, where the
    /// policy allows it for every reason of the result.
    #[serde(rename = "inspections:override")]
    InspectionsOverride,
    /// Provision users and groups from an identity provider over SCIM 2.0
    /// (`/scim/v2/`); only API keys may use it.
    #[serde(rename = "scim:provision")]
    ScimProvision,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 13] = [
        Scope::InspectionsWrite,
        Scope::InspectionsRead,
        Scope::AuditRead,
        Scope::KeysManage,
        Scope::UsersManage,
        Scope::PolicyManage,
        Scope::EvidenceReadOriginal,
        Scope::EvidenceManage,
        Scope::MetricsRead,
        Scope::CasesRead,
        Scope::CasesManage,
        Scope::InspectionsOverride,
        Scope::ScimProvision,
    ];

    /// The scope's name, e.g. `inspections:write`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::InspectionsWrite => "inspections:write",
            Scope::InspectionsRead => "inspections:read",
            Scope::AuditRead => "audit:read",
            Scope::KeysManage => "keys:manage",
            Scope::UsersManage => "users:manage",
            Scope::PolicyManage => "policy:manage",
            Scope::EvidenceReadOriginal => "evidence:read-original",
            Scope::EvidenceManage => "evidence:manage",
            Scope::MetricsRead => "metrics:read",
            Scope::CasesRead => "cases:read",
            Scope::CasesManage => "cases:manage",
            Scope::InspectionsOverride => "inspections:override",
            Scope::ScimProvision => "scim:provision",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scope name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown scope {0:?} (known: inspections:write, inspections:read, inspections:override, audit:read, keys:manage, users:manage, policy:manage, evidence:read-original, evidence:manage, metrics:read, cases:read, cases:manage, scim:provision)"
)]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

/// A user's role: a fixed set of scopes.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including other owners.
    Owner,
    /// Everything but making owners (enforced where roles change).
    Admin,
    /// Integrations: submit and read inspections, manage API keys.
    Developer,
    /// Read inspections and the audit log.
    Viewer,
    /// Devices and people at the edge: submit and read inspections.
    Operator,
}

impl Role {
    /// Every role, most powerful first.
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Developer,
        Role::Viewer,
        Role::Operator,
    ];

    /// The role's name, e.g. `owner`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Developer => "developer",
            Role::Viewer => "viewer",
            Role::Operator => "operator",
        }
    }

    /// The scopes this role holds.
    pub fn scopes(self) -> &'static [Scope] {
        use Scope::*;
        match self {
            Role::Owner | Role::Admin => &Scope::ALL,
            Role::Developer => &[InspectionsWrite, InspectionsRead, KeysManage],
            Role::Viewer => &[InspectionsRead, AuditRead, MetricsRead],
            Role::Operator => &[InspectionsWrite, InspectionsRead, InspectionsOverride],
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A role name that does not exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?} (known: owner, admin, developer, viewer, operator)")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// A user, by id.
    User(String),
    /// An API key, by id (never its secret).
    Key(String),
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::User(id) => write!(f, "user:{id}"),
            Actor::Key(id) => write!(f, "key:{id}"),
        }
    }
}

/// An authenticated actor and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Who.
    pub actor: Actor,
    /// Its scopes.
    pub scopes: BTreeSet<Scope>,
    /// The user's role (`None` for API keys, which hold scopes, not roles).
    pub role: Option<Role>,
    /// The devices whose inspections and evidence it may read (`None`: all).
    pub devices: Option<crate::devices::DeviceScope>,
}

/// Scope markers for [`Granted`].
pub mod needs {
    use super::Scope;

    /// A type that names one scope, or (for [`Authenticated`]) none.
    pub trait Needs: Send + Sync + 'static {
        /// The scope; `None` means any authenticated principal.
        const SCOPE: Option<Scope>;
    }

    /// Any valid credential, whatever its scopes (for reading the API description).
    #[derive(Debug)]
    pub struct Authenticated;
    impl Needs for Authenticated {
        const SCOPE: Option<Scope> = None;
    }

    macro_rules! marker {
        ($($name:ident),*) => {$(
            #[doc = concat!("Requires `Scope::", stringify!($name), "`.")]
            #[derive(Debug)]
            pub struct $name;
            impl Needs for $name {
                const SCOPE: Option<Scope> = Some(Scope::$name);
            }
        )*};
    }
    marker!(
        InspectionsWrite,
        InspectionsRead,
        AuditRead,
        KeysManage,
        UsersManage,
        PolicyManage,
        EvidenceReadOriginal,
        EvidenceManage,
        MetricsRead,
        CasesRead,
        CasesManage,
        InspectionsOverride,
        ScimProvision
    );
}

/// Proof that `principal` holds the scope `S`. Only [`authorize`] makes one.
#[derive(Debug)]
pub struct Granted<S: needs::Needs> {
    principal: Principal,
    _scope: PhantomData<S>,
}

impl<S: needs::Needs> Granted<S> {
    /// Who was granted.
    pub fn principal(&self) -> &Principal {
        &self.principal
    }
}

/// The principal lacks the scope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{actor} lacks the scope {needed}")]
pub struct Denied {
    /// Who asked.
    pub actor: Actor,
    /// What was needed.
    pub needed: Scope,
}

/// The one permission check: `Granted<S>` if `principal` holds `S`'s scope.
pub fn authorize<S: needs::Needs>(principal: Principal) -> Result<Granted<S>, Denied> {
    match S::SCOPE {
        Some(needed) if !principal.scopes.contains(&needed) => Err(Denied {
            actor: principal.actor,
            needed,
        }),
        _ => Ok(Granted {
            principal,
            _scope: PhantomData,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(scopes: &[Scope]) -> Principal {
        Principal {
            actor: Actor::Key("k1".into()),
            scopes: scopes.iter().copied().collect(),
            role: None,
            devices: None,
        }
    }

    #[test]
    fn authorize_grants_exactly_the_held_scope() {
        assert!(authorize::<needs::InspectionsWrite>(key(&[Scope::InspectionsWrite])).is_ok());
        let denied = authorize::<needs::InspectionsRead>(key(&[Scope::InspectionsWrite]))
            .expect_err("denied");
        assert_eq!(
            denied.to_string(),
            "key:k1 lacks the scope inspections:read"
        );
    }

    #[test]
    fn authenticated_needs_no_particular_scope() {
        assert!(authorize::<needs::Authenticated>(key(&[Scope::AuditRead])).is_ok());
    }

    #[test]
    fn scope_names_round_trip_and_unknown_names_are_refused() {
        for s in Scope::ALL {
            assert_eq!(s.as_str().parse::<Scope>(), Ok(s));
            assert_eq!(serde_json::to_string(&s).expect("json"), format!("\"{s}\""));
        }
        assert!("inspections:delete".parse::<Scope>().is_err());
    }

    #[test]
    fn role_matrix_is_as_documented() {
        use Scope::*;
        assert_eq!(Role::Owner.scopes().len(), 13);
        assert_eq!(Role::Admin.scopes().len(), 13);
        assert_eq!(
            Role::Developer.scopes(),
            [InspectionsWrite, InspectionsRead, KeysManage]
        );
        assert_eq!(
            Role::Viewer.scopes(),
            [InspectionsRead, AuditRead, MetricsRead]
        );
        assert_eq!(
            Role::Operator.scopes(),
            [InspectionsWrite, InspectionsRead, InspectionsOverride]
        );
    }
}
