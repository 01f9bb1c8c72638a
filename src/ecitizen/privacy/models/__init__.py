"""The privacy app's models, one module per part: ``exports`` (a resident's download of
their data) and ``erasure`` (requests to close an account, their decisions and the
retention runs)."""

from ecitizen.privacy.models.erasure import *  # noqa: F403
from ecitizen.privacy.models.exports import *  # noqa: F403
