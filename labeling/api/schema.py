"""The OpenAPI schema's shared parts: the Idempotency-Key header on every POST, the ``project``
parameter of every endpoint that acts on one project, the error responses."""
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter

from labeling.api.filters import PROJECT
from labeling.api.idempotency import HEADER, MAX_KEY_CHARS
from labeling.api.permissions import ProjectRolePermission
from labeling.api.serializers import ErrorSerializer

IDEMPOTENCY_KEY = OpenApiParameter(
    HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description=f"1 to {MAX_KEY_CHARS} characters; a retry with the same key gets the first response back.",
)
_ERRORS = {"GET": ("400", "401", "403", "404"), "POST": ("400", "401", "403", "404", "409", "413", "415", "422")}


class ApiSchema(AutoSchema):
    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if any(issubclass(p, ProjectRolePermission) for p in getattr(self.view, "permission_classes", ())):
            parameters = [*parameters, PROJECT]
        return [*parameters, IDEMPOTENCY_KEY] if self.method == "POST" else parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        for code in _ERRORS.get(self.method, ()):
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
        return responses
