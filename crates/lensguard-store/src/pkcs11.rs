//! The installation's PKCS#11 token (an HSM, or SoftHSMv2 in tests),
//! through `cryptoki`: the evidence vault's key-encryption keys and, when
//! configured, the audit log's Ed25519 signing key.
//!
//! The audit signing key is a key pair labelled [`AUDIT_SIGNING_LABEL`],
//! generated in the token (`CKM_EC_EDWARDS_KEY_PAIR_GEN`, Ed25519), its
//! private half private, sensitive and not extractable; checkpoints are
//! signed inside the token (`CKM_EDDSA`). So reading the data directory (or
//! a backup of it) no longer gives the power to re-sign a rewritten history.
//!
//! Each KEK version is an AES-256 secret key object labelled
//! `lensguard-kek:<category>:v<version>`, generated inside the token as a
//! token object that is private, sensitive and not extractable: its bytes
//! never leave the token, and wrapping a data key is an AES-GCM encryption
//! the token performs (`CKM_AES_GCM`, a 96-bit nonce lensguard draws, 128-bit
//! tag, the envelope's associated data). There is no software fallback:
//! when the module, the token, the PIN or a key is missing, operations fail
//! and the caller refuses new evidence.

use crate::Error;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::types::AuthPin;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;

/// Where the token is and how to log in.
pub struct Pkcs11Config {
    /// The PKCS#11 module (for SoftHSMv2: `/usr/lib/softhsm/libsofthsm2.so`).
    pub module: PathBuf,
    /// The token's label.
    pub token_label: String,
    /// The user PIN.
    pub pin: lensguard_core::Sensitive<String>,
}

impl std::fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pkcs11Config")
            .field("module", &self.module)
            .field("token_label", &self.token_label)
            .field("pin", &"**redacted**")
            .finish()
    }
}

/// A logged-in session on the token.
pub struct Token {
    // Declared before the context so the session closes first.
    session: Mutex<Session>,
    handles: Mutex<HashMap<String, ObjectHandle>>,
    _context: Pkcs11,
}

fn hsm(what: &str) -> impl FnOnce(cryptoki::error::Error) -> Error + '_ {
    move |e| {
        let why = match &e {
            cryptoki::error::Error::Pkcs11(RvError::PinIncorrect, _) => {
                "the PIN is wrong".to_owned()
            }
            cryptoki::error::Error::Pkcs11(RvError::PinLocked, _) => "the PIN is locked".to_owned(),
            cryptoki::error::Error::Pkcs11(
                RvError::TokenNotPresent | RvError::DeviceRemoved | RvError::DeviceError,
                _,
            ) => "the token is not present".to_owned(),
            other => other.to_string(),
        };
        Error::KeyUnavailable(format!("HSM: {what}: {why}"))
    }
}

/// The label of the audit log's signing key pair in the token.
pub const AUDIT_SIGNING_LABEL: &str = "lensguard-audit-signing";

/// DER of the Ed25519 curve's object identifier (1.3.101.112), the
/// `CKA_EC_PARAMS` of an Ed25519 key.
const ED25519_OID: [u8; 5] = [0x06, 0x03, 0x2b, 0x65, 0x70];

/// The label of a KEK version.
pub fn label(category: &str, version: u32) -> String {
    format!("lensguard-kek:{category}:v{version}")
}

impl Token {
    /// Loads the module, finds the token by label and logs in.
    pub fn open(cfg: &Pkcs11Config) -> Result<Token, Error> {
        let context = Pkcs11::new(&cfg.module).map_err(|e| {
            Error::KeyUnavailable(format!(
                "HSM: cannot load the PKCS#11 module {}: {e}",
                cfg.module.display()
            ))
        })?;
        match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
            // Another session in this process (an operator tool, a test
            // probe) initialised the module already: that is fine.
            Ok(())
            | Err(cryptoki::error::Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
            Err(e) => return Err(hsm("initialise the module")(e)),
        }
        let slots = context
            .get_slots_with_token()
            .map_err(hsm("list the slots"))?;
        let mut found = None;
        for slot in slots {
            let info = context
                .get_token_info(slot)
                .map_err(hsm("read a token's label"))?;
            if info.label().trim_end() == cfg.token_label {
                found = Some(slot);
                break;
            }
        }
        let Some(slot) = found else {
            return Err(Error::KeyUnavailable(format!(
                "HSM: no token labelled {:?} in {}",
                cfg.token_label,
                cfg.module.display()
            )));
        };
        let session = context
            .open_rw_session(slot)
            .map_err(hsm("open a session"))?;
        let pin = AuthPin::from(cfg.pin.expose().clone());
        match session.login(UserType::User, Some(&pin)) {
            // Login state is per application: another session of this
            // process is logged in already.
            Ok(()) | Err(cryptoki::error::Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(hsm("log in")(e)),
        }
        Ok(Token {
            session: Mutex::new(session),
            handles: Mutex::new(HashMap::new()),
            _context: context,
        })
    }

    fn session(&self) -> std::sync::MutexGuard<'_, Session> {
        // A panic while holding the lock leaves the session usable.
        self.session.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn handle(&self, label: &str) -> Result<ObjectHandle, Error> {
        let mut cache = self.handles.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = cache.get(label) {
            return Ok(*h);
        }
        let found = self
            .session()
            .find_objects(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .map_err(hsm("find a key"))?;
        let Some(h) = found.first().copied() else {
            return Err(Error::KeyUnavailable(format!(
                "HSM: the key {label} is not in the token"
            )));
        };
        cache.insert(label.to_owned(), h);
        Ok(h)
    }

    /// Generates a new non-extractable AES-256 key labelled `label`.
    pub fn generate(&self, label: &str) -> Result<(), Error> {
        let h = self
            .session()
            .generate_key(
                &Mechanism::AesKeyGen,
                &[
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(false),
                    Attribute::Encrypt(true),
                    Attribute::Decrypt(true),
                    Attribute::KeyType(KeyType::AES),
                    Attribute::ValueLen(32u64.into()),
                    Attribute::Label(label.as_bytes().to_vec()),
                ],
            )
            .map_err(hsm("generate a key"))?;
        self.handles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(label.to_owned(), h);
        Ok(())
    }

    /// AES-GCM encryption inside the token: `ciphertext || tag`.
    pub fn encrypt(
        &self,
        label: &str,
        nonce: &[u8; 12],
        aad: &[u8],
        plain: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let key = self.handle(label)?;
        let mut iv = *nonce;
        let params = GcmParams::new(&mut iv, aad, 128u64.into()).map_err(hsm("set up GCM"))?;
        self.session()
            .encrypt(&Mechanism::AesGcm(params), key, plain)
            .map_err(hsm("wrap a data key"))
    }

    /// AES-GCM decryption inside the token; an integrity error when the tag
    /// does not verify.
    pub fn decrypt(
        &self,
        label: &str,
        nonce: &[u8],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let key = self.handle(label)?;
        let mut iv = [0u8; 12];
        if nonce.len() != iv.len() {
            return Err(Error::Integrity("bad nonce".to_owned()));
        }
        iv.copy_from_slice(nonce);
        let params = GcmParams::new(&mut iv, aad, 128u64.into()).map_err(hsm("set up GCM"))?;
        self.session()
            .decrypt(&Mechanism::AesGcm(params), key, sealed)
            .map_err(|e| match e {
                cryptoki::error::Error::Pkcs11(
                    RvError::EncryptedDataInvalid | RvError::EncryptedDataLenRange,
                    _,
                ) => Error::Integrity("the wrapped data key does not verify".to_owned()),
                other => hsm("unwrap a data key")(other),
            })
    }

    /// The 32-byte public key of the Ed25519 key pair labelled `label`,
    /// generated in the token first when there is none.
    pub fn ed25519_key(&self, label: &str) -> Result<Vec<u8>, Error> {
        let session = self.session();
        let find = |class| {
            session
                .find_objects(&[
                    Attribute::Class(class),
                    Attribute::Label(label.as_bytes().to_vec()),
                ])
                .map_err(hsm("find the audit signing key"))
        };
        let public = match find(ObjectClass::PUBLIC_KEY)?.first().copied() {
            Some(h) if !find(ObjectClass::PRIVATE_KEY)?.is_empty() => h,
            Some(_) => {
                return Err(Error::KeyUnavailable(format!(
                    "HSM: the token holds the public half of {label} but not its private key"
                )));
            }
            None => {
                let label = label.as_bytes().to_vec();
                let (public, _) = session
                    .generate_key_pair(
                        &Mechanism::EccEdwardsKeyPairGen,
                        &[
                            Attribute::Token(true),
                            Attribute::Private(false),
                            Attribute::Verify(true),
                            Attribute::EcParams(ED25519_OID.to_vec()),
                            Attribute::Label(label.clone()),
                        ],
                        &[
                            Attribute::Token(true),
                            Attribute::Private(true),
                            Attribute::Sensitive(true),
                            Attribute::Extractable(false),
                            Attribute::Sign(true),
                            Attribute::Label(label),
                        ],
                    )
                    .map_err(hsm("generate the audit signing key"))?;
                public
            }
        };
        let point = session
            .get_attributes(public, &[AttributeType::EcPoint])
            .map_err(hsm("read the audit signing key"))?;
        let Some(Attribute::EcPoint(point)) = point.into_iter().next() else {
            return Err(Error::KeyUnavailable(
                "HSM: the audit signing key has no public point".to_owned(),
            ));
        };
        // CKA_EC_POINT is the DER OCTET STRING of the 32 bytes (some tokens
        // give the bytes bare).
        match point.as_slice() {
            [0x04, 0x20, key @ ..] if key.len() == 32 => Ok(key.to_vec()),
            key if key.len() == 32 => Ok(key.to_vec()),
            _ => Err(Error::KeyUnavailable(
                "HSM: the audit signing key is not an Ed25519 key".to_owned(),
            )),
        }
    }

    /// An Ed25519 signature of `message` by the private key labelled
    /// `label`, made inside the token.
    pub fn sign_ed25519(&self, label: &str, message: &[u8]) -> Result<Vec<u8>, Error> {
        let session = self.session();
        let key = session
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .map_err(hsm("find the audit signing key"))?
            .first()
            .copied()
            .ok_or_else(|| {
                Error::KeyUnavailable(format!("HSM: the key {label} is not in the token"))
            })?;
        session
            .sign(
                &Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Ed25519)),
                key,
                message,
            )
            .map_err(hsm("sign an audit checkpoint"))
    }

    /// Whether the private key labelled `label` (of a key pair) is sensitive
    /// and not extractable, as the token reports it.
    pub fn private_key_locked_in(&self, label: &str) -> Result<bool, Error> {
        let found = self
            .session()
            .find_objects(&[
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .map_err(hsm("find a key"))?;
        let Some(h) = found.first().copied() else {
            return Err(Error::KeyUnavailable(format!(
                "HSM: the key {label} is not in the token"
            )));
        };
        self.locked_in(h)
    }

    /// Destroys the key labelled `label` (retiring a KEK version).
    pub fn destroy(&self, label: &str) -> Result<(), Error> {
        let h = self.handle(label)?;
        self.session()
            .destroy_object(h)
            .map_err(hsm("destroy a key"))?;
        self.handles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(label);
        Ok(())
    }

    /// Whether the key `label` is sensitive and not extractable, as the token
    /// reports it.
    pub fn is_locked_in(&self, label: &str) -> Result<bool, Error> {
        let h = self.handle(label)?;
        self.locked_in(h)
    }

    fn locked_in(&self, h: ObjectHandle) -> Result<bool, Error> {
        let attrs = self
            .session()
            .get_attributes(
                h,
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::NeverExtractable,
                ],
            )
            .map_err(hsm("read a key's attributes"))?;
        let mut ok = attrs.len() == 3;
        for a in attrs {
            ok &= match a {
                Attribute::Sensitive(v) | Attribute::NeverExtractable(v) => v,
                Attribute::Extractable(v) => !v,
                _ => false,
            };
        }
        Ok(ok)
    }
}
