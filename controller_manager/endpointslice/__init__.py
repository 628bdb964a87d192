"""The EndpointSlice controller and the EndpointSlice mirroring controller.

Kubernetes counterpart: pkg/controller/endpointslice, pkg/controller/endpointslicemirroring
"""

from controller_manager.endpointslice.controller import EndpointSliceController
from controller_manager.endpointslice.mirroring import EndpointSliceMirroringController

__all__ = ["EndpointSliceController", "EndpointSliceMirroringController"]
