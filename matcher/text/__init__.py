"""Text and the model: the only code that talks to sentence-transformers.

    embedding    load the model offline, encode in batches, cache by text hash, split sentences
    models       the registered models: where their files come from, the weights' hash checked before loading
    onnx_encoder a registered model on onnxruntime: its graph exported once, checked against torch
    adapter      the fitted text adapter the service applies to every vector (numpy only)
    safety       the safety screen (a triage aid: phrases and crisis-exemplar similarity)
    explanation  which sentences of two narratives matched best (for coordinators)
"""
