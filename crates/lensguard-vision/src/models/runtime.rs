//! The model runtime: one verified ONNX graph, run on ONNX Runtime when the
//! binary hands in a loaded library ([`Backend::OnnxRuntime`]), else on tract
//! with one optimised plan kept per input size (the fallback that needs
//! nothing).
//!
//! Detectors speak to [`Network`] only in plain terms (an NCHW `f32` input,
//! `f32` output tensors with their shapes), so the backends share their pre-
//! and post-processing. This module never touches disk: the ONNX Runtime
//! library is located, checked and loaded by the binary, which passes its
//! [`ort::environment::Environment`] in. Each ORT session runs with one
//! intra-op and one inter-op thread and no spinning, so concurrency comes
//! from the service's decoding turns, not from threads inside a model; and
//! each concurrent caller gets a session of its own ([`SessionPool`]: a
//! session is taken for one run and put back, and a new one is made only
//! when every one is busy, so there are as many as workers ran at once).

use super::{ModelCard, verify};
use crate::Error;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tract_onnx::prelude::*;

type Plan = Arc<TypedRunnableModel>;

/// An NCHW `f32` input: batch 1, `channels` planes of `height` x `width`.
pub struct NchwInput {
    /// Channels (planes).
    pub channels: usize,
    /// Height of each plane.
    pub height: usize,
    /// Width of each plane.
    pub width: usize,
    /// `channels * height * width` values, plane after plane.
    pub data: Vec<f32>,
}

impl NchwInput {
    /// All zeros.
    pub fn zeros(channels: usize, height: usize, width: usize) -> NchwInput {
        NchwInput {
            channels,
            height,
            width,
            data: vec![0.0; channels * height * width],
        }
    }
}

/// One output tensor.
pub struct Output {
    /// Its shape.
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub data: Vec<f32>,
}

/// Which runtime runs a model.
#[derive(Clone, Default)]
pub enum Backend {
    /// tract (pure Rust, always available).
    #[default]
    Tract,
    /// ONNX Runtime, through the library the binary loaded.
    OnnxRuntime(ort::environment::Environment),
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Backend {
    /// `tract` or `onnxruntime`, as reports and the start-up line name it.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Tract => "tract",
            Backend::OnnxRuntime(_) => "onnxruntime",
        }
    }
}

enum Engine {
    Tract {
        model: InferenceModel,
        plans: Mutex<HashMap<(usize, usize, usize), Plan>>,
    },
    Ort(SessionPool),
}

/// ONNX Runtime sessions of one model, one per concurrent caller.
struct SessionPool {
    env: ort::environment::Environment,
    bytes: Arc<[u8]>,
    idle: Mutex<Vec<ort::session::Session>>,
}

impl SessionPool {
    fn new(env: &ort::environment::Environment, bytes: &[u8]) -> Result<SessionPool, String> {
        let pool = SessionPool {
            env: env.clone(),
            bytes: Arc::from(bytes),
            idle: Mutex::new(Vec::new()),
        };
        // The first session now, so a file ONNX Runtime refuses is refused
        // at load.
        let first = pool.session()?;
        pool.put_back(first);
        Ok(pool)
    }

    fn session(&self) -> Result<ort::session::Session, String> {
        let text = |e: ort::Error<_>| e.to_string();
        ort::session::Session::builder(&self.env)
            .map_err(|e| e.to_string())?
            .with_intra_threads(1)
            .map_err(text)?
            .with_inter_threads(1)
            .map_err(text)?
            .with_intra_op_spinning(false)
            .map_err(text)?
            .with_inter_op_spinning(false)
            .map_err(text)?
            .commit_from_memory(&self.bytes)
            .map_err(|e| e.to_string())
    }

    fn take(&self) -> Result<ort::session::Session, String> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        match idle {
            Some(s) => Ok(s),
            None => self.session(),
        }
    }

    fn put_back(&self, session: ort::session::Session) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(session);
    }
}

/// The pin of a model that is not built in: the SHA-256 that a model
/// update's signed metadata names for its file, and the update's release.
/// The caller verified the metadata; this crate checks the bytes against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPin {
    /// SHA-256 of the file, hex.
    pub sha256: String,
    /// The update's release (its bundle version), as reports name it.
    pub release: String,
}

/// A loaded, verified model.
pub struct Network {
    card: ModelCard,
    /// The update's release when the file came from one (not the card's).
    release: Option<String>,
    engine: Engine,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Network({} on {})", self.name(), self.runtime())
    }
}

impl Network {
    /// Parses `bytes` on tract after checking they are the file `card` names.
    pub fn load(card: ModelCard, bytes: &[u8]) -> Result<Network, Error> {
        Self::load_on(card, bytes, &Backend::Tract)
    }

    /// Parses `bytes` on `backend` after checking they are the file `card`
    /// names.
    pub fn load_on(card: ModelCard, bytes: &[u8], backend: &Backend) -> Result<Network, Error> {
        verify(&card, bytes)?;
        Self::build(card, None, bytes, backend)
    }

    /// Parses `bytes` on `backend` after checking they are the file a
    /// model update's signed metadata names: `card` says what kind of
    /// network it must be, `pin` which file.
    pub fn load_signed(
        card: ModelCard,
        pin: &SignedPin,
        bytes: &[u8],
        backend: &Backend,
    ) -> Result<Network, Error> {
        use sha2::Digest as _;
        let actual = hex::encode(sha2::Sha256::digest(bytes));
        if !actual.eq_ignore_ascii_case(&pin.sha256) {
            return Err(invalid(
                &card,
                format!(
                    "update {}: the file's SHA-256 is {actual}, not the signed {}",
                    pin.release, pin.sha256
                ),
            ));
        }
        Self::build(card, Some(pin.release.clone()), bytes, backend)
    }

    fn build(
        card: ModelCard,
        release: Option<String>,
        bytes: &[u8],
        backend: &Backend,
    ) -> Result<Network, Error> {
        let engine = match backend {
            Backend::Tract => Engine::Tract {
                model: tract_onnx::onnx()
                    .model_for_read(&mut std::io::Cursor::new(bytes))
                    .map_err(|e| invalid(&card, e))?,
                plans: Mutex::new(HashMap::new()),
            },
            Backend::OnnxRuntime(env) => {
                Engine::Ort(SessionPool::new(env, bytes).map_err(|e| invalid(&card, e))?)
            }
        };
        Ok(Network {
            card,
            release,
            engine,
        })
    }

    /// The model card's name.
    pub fn model(&self) -> &'static str {
        self.card.name
    }

    /// The model's name as reports give it: the card's, with the update's
    /// release when the file came from one.
    pub fn name(&self) -> String {
        match &self.release {
            Some(r) => format!("{} (update {r})", self.card.name),
            None => self.card.name.to_owned(),
        }
    }

    /// The model and runtime, as a report records them.
    pub fn model_run(&self) -> lensguard_core::report::ModelRun {
        lensguard_core::report::ModelRun {
            model: self.name(),
            runtime: self.runtime().to_owned(),
        }
    }

    /// The runtime this model runs on.
    pub fn runtime(&self) -> &'static str {
        match self.engine {
            Engine::Tract { .. } => "tract",
            Engine::Ort(_) => "onnxruntime",
        }
    }

    /// An error naming this model.
    pub fn invalid(&self, reason: impl std::fmt::Display) -> Error {
        invalid(&self.card, reason)
    }

    fn plan(
        &self,
        model: &InferenceModel,
        plans: &Mutex<HashMap<(usize, usize, usize), Plan>>,
        (c, h, w): (usize, usize, usize),
    ) -> Result<Plan, Error> {
        let mut plans = plans.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = plans.get(&(c, h, w)) {
            return Ok(Arc::clone(p));
        }
        let plan = model
            .clone()
            .with_input_fact(0, f32::fact([1, c, h, w]).into())
            .and_then(|m| m.into_optimized())
            .and_then(|m| m.into_runnable())
            .map_err(|e| self.invalid(e))?;
        plans.insert((c, h, w), Arc::clone(&plan));
        Ok(plan)
    }

    /// Runs the model on `input`.
    pub fn run(&self, input: NchwInput) -> Result<Vec<Output>, Error> {
        match &self.engine {
            Engine::Tract { model, plans } => self.run_tract(model, plans, input),
            Engine::Ort(pool) => self.run_ort(pool, input),
        }
    }

    fn run_ort(&self, pool: &SessionPool, input: NchwInput) -> Result<Vec<Output>, Error> {
        let mut session = pool.take().map_err(|e| self.invalid(e))?;
        let out = self.run_session(&mut session, input);
        pool.put_back(session);
        out
    }

    fn run_session(
        &self,
        session: &mut ort::session::Session,
        input: NchwInput,
    ) -> Result<Vec<Output>, Error> {
        let (c, h, w) = (input.channels, input.height, input.width);
        let tensor = ort::value::Tensor::from_array(([1usize, c, h, w], input.data))
            .map_err(|e| self.invalid(e))?;
        let outputs = session
            .run(ort::inputs![tensor])
            .map_err(|e| self.invalid(e))?;
        let mut out = Vec::with_capacity(outputs.len());
        for (_, value) in outputs.iter() {
            let (shape, data) = value
                .try_extract_tensor::<f32>()
                .map_err(|e| self.invalid(e))?;
            let shape = shape
                .iter()
                .map(|&d| usize::try_from(d).map_err(|_| self.invalid("negative output dimension")))
                .collect::<Result<Vec<_>, _>>()?;
            out.push(Output {
                shape,
                data: data.to_vec(),
            });
        }
        Ok(out)
    }

    fn run_tract(
        &self,
        model: &InferenceModel,
        plans: &Mutex<HashMap<(usize, usize, usize), Plan>>,
        input: NchwInput,
    ) -> Result<Vec<Output>, Error> {
        let (c, h, w) = (input.channels, input.height, input.width);
        let plan = self.plan(model, plans, (c, h, w))?;
        let tensor = tract_ndarray::Array4::from_shape_vec((1, c, h, w), input.data)
            .map_err(|e| self.invalid(e))?;
        let outputs = plan
            .run(tvec!(Tensor::from(tensor).into()))
            .map_err(|e| self.invalid(e))?;
        outputs
            .iter()
            .map(|t| {
                let view = t
                    .to_plain_array_view::<f32>()
                    .map_err(|e| self.invalid(e))?;
                Ok(Output {
                    shape: view.shape().to_vec(),
                    data: view.iter().copied().collect(),
                })
            })
            .collect()
    }
}

fn invalid(card: &ModelCard, reason: impl std::fmt::Display) -> Error {
    Error::ModelInvalid {
        model: card.name,
        reason: reason.to_string(),
    }
}
