"""The hccbm web service: a thin FastAPI layer over the assessment, scores and evidence layers.

``create_app()`` (in :mod:`hccbm.service.app`) builds the application; ``hccbm serve`` runs it.
The service parses, authenticates, audits, calls the layers below and formats; it holds no
clinical logic of its own.
"""
