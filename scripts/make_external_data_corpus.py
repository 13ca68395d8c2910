#!/usr/bin/env python3
"""tests/corpus/hf/clip-external: clip-export's graphs with their weights in external-data files, as exporters
write them when a model passes protobuf's 2 GB (run from the repository root, after make_hf_corpus.py):

  /usr/bin/python3 scripts/make_external_data_corpus.py

- onnx/model.onnx + model.onnx_data: Optimum's and transformers.js' naming, one file (transformers.js' own
  zero-shot pipeline reads this graph);
- onnx/text_model.onnx + text_model.onnx_data and text_model.onnx_data_1: transformers.js' chunks (its
  `use_external_data_format: 2`), the weights split between two files;
- onnx/vision_model.onnx + vision_model.onnx.data: torch.onnx's naming.

Constant nodes keep their tensors: onnxruntime cannot infer shapes from external Constant values, and exporters
put only initializers outside.

The weights are clip-export's, byte for byte, so its reference-api.json holds for this folder.
"""
import json
import os
import shutil

import onnx
from onnx import external_data_helper as ext

SOURCE = 'tests/corpus/hf/clip-export'
TARGET = 'tests/corpus/hf/clip-external'
JSON_FILES = ['config.json', 'preprocessor_config.json', 'tokenizer.json', 'tokenizer_config.json']


def externalize(name, chunks, location):
    """Re-saves onnx/<name> with every tensor external, spread over `chunks` files named location, location_1…"""
    model = onnx.load(os.path.join(SOURCE, 'onnx', name))
    ext.convert_model_to_external_data(
        model, all_tensors_to_one_file=True, location=location, size_threshold=0)
    tensors = [t for t in ext._get_all_tensors(model) if ext.uses_external_data(t)]
    files = [location] + [f'{location}_{i}' for i in range(1, chunks)]
    for i, tensor in enumerate(tensors):
        chunk = files[i * chunks // len(tensors)]
        for entry in tensor.external_data:
            if entry.key == 'location':
                entry.value = chunk
    onnx.save_model(model, os.path.join(TARGET, 'onnx', name))
    sizes = {f: os.path.getsize(os.path.join(TARGET, 'onnx', f)) for f in files}
    print(f'{name}: {len(tensors)} external tensors in {sizes}')


def main():
    shutil.rmtree(TARGET, ignore_errors=True)
    os.makedirs(os.path.join(TARGET, 'onnx'))
    for f in JSON_FILES:
        shutil.copy(os.path.join(SOURCE, f), os.path.join(TARGET, f))
    externalize('model.onnx', 1, 'model.onnx_data')
    externalize('text_model.onnx', 2, 'text_model.onnx_data')
    externalize('vision_model.onnx', 1, 'vision_model.onnx.data')
    # As transformers.js reads it: chunk counts by graph name (torch's vision_model.onnx.data is not its naming).
    config_path = os.path.join(TARGET, 'config.json')
    with open(config_path) as f:
        config = json.load(f)
    config['transformers.js_config'] = {'use_external_data_format': {'model': 1, 'text_model': 2}}
    with open(config_path, 'w') as f:
        json.dump(config, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
