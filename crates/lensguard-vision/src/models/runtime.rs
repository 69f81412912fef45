//! The model runtime: one verified ONNX graph, run on tract with one optimised
//! plan kept per input size.
//!
//! Detectors speak to [`Network`] only in plain terms (an NCHW `f32` input, `f32`
//! output tensors with their shapes), so a second backend can sit behind the same
//! type without touching their pre- and post-processing.

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

/// A loaded, verified model.
pub struct Network {
    card: ModelCard,
    model: InferenceModel,
    plans: Mutex<HashMap<(usize, usize, usize), Plan>>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Network({})", self.card.name)
    }
}

impl Network {
    /// Parses `bytes` after checking they are the file `card` names.
    pub fn load(card: ModelCard, bytes: &[u8]) -> Result<Network, Error> {
        verify(&card, bytes)?;
        let model = tract_onnx::onnx()
            .model_for_read(&mut std::io::Cursor::new(bytes))
            .map_err(|e| invalid(&card, e))?;
        Ok(Network {
            card,
            model,
            plans: Mutex::new(HashMap::new()),
        })
    }

    /// An error naming this model.
    pub fn invalid(&self, reason: impl std::fmt::Display) -> Error {
        invalid(&self.card, reason)
    }

    fn plan(&self, c: usize, h: usize, w: usize) -> Result<Plan, Error> {
        let mut plans = self.plans.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = plans.get(&(c, h, w)) {
            return Ok(Arc::clone(p));
        }
        let plan = self
            .model
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
        let (c, h, w) = (input.channels, input.height, input.width);
        let plan = self.plan(c, h, w)?;
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
