// Runs a TF.js graph model on the CPU backend; input and outputs as raw float32 files.
const fs = require('fs');
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const conv = require('@tensorflow/tfjs-converter');
(async () => {
  const [json, bin, input, outPrefix] = process.argv.slice(2);
  await tf.setBackend('cpu');
  const spec = JSON.parse(fs.readFileSync(json));
  const data = fs.readFileSync(bin);
  const handler = tf.io.fromMemory({modelTopology: spec.modelTopology, weightSpecs: spec.weightsManifest[0].weights, weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.length)});
  const model = await conv.loadGraphModel(handler);
  const raw = fs.readFileSync(input);
  const x = tf.tensor(new Float32Array(raw.buffer, raw.byteOffset, raw.length / 4), [1, 3, 416, 416]);
  const names = Object.keys(spec.signature.outputs).sort();
  const outs = await model.executeAsync(x, names.map(n => n.replace(':0', '')));
  for (let i = 0; i < names.length; i++) {
    fs.writeFileSync(`${outPrefix}${names[i].replace(':0', '')}.f32`, Buffer.from((await outs[i].data()).buffer));
    console.log(names[i], outs[i].shape.join('x'));
  }
})();
