"""The insights app's models, one module per part (cockpit, reports, simulator)."""

from .models_cockpit import *  # noqa: F403
from .models_reports import *  # noqa: F403
from .models_simulator import *  # noqa: F403
