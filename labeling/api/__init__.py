"""The REST API under ``/api/v1/``: the labeler's three calls and the staff's data, runs and figures.

Thin views over the same services and selectors as the pages (STYLE.md): a labeler's ranking goes
through ``labeling.services.ranking.ranking_submit`` and ``labeling.submission`` exactly as the
page's does, a round through ``labeling.services.rounds.round_start`` after the page's form.

- Auth: ``Authorization: Token <key>`` (``manage.py drf_create_token USER``), or the pages' session
  cookie with DRF's CSRF check on unsafe methods. Anonymous calls get 401; labelers calling a staff
  endpoint get 403.
- Lists are paginated by page number (:mod:`labeling.api.pagination`): ``?page=N&page_size=M``,
  answered as ``{"count", "next", "previous", "results"}``.
- Every error is ``{"error": {"message": str, "field": str | null}}`` (:mod:`labeling.api.errors`).
- Every POST takes an optional ``Idempotency-Key`` header (:mod:`labeling.api.idempotency`).
- Bodies are JSON only; text the database cannot store (NUL, unpaired surrogates) is a 400
  (:mod:`labeling.api.parsers`). Staff exports stream (:mod:`labeling.api.views.admin_exports`).
- ``/api/v1/schema/`` is the OpenAPI 3 schema (drf-spectacular). ``/api/v1/docs/`` is a small page
  of our own (``docs.html``) that fetches that schema and lists every operation with its parameters,
  body and responses. Why not Swagger UI or Redoc: drf-spectacular serves them from a CDN unless the
  ``drf-spectacular-sidecar`` package is installed, which it is not, and the machine may be offline;
  vendoring a 1.5 MB JavaScript bundle to list some twenty endpoints is not worth it. To try a call
  in the browser, open any endpoint itself: DRF's browsable API renders it as a page with a form.
"""
