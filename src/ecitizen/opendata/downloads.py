"""Downloads. (Being written: every view answers 404 until then.)"""

from django.http import Http404

from ecitizen.core.access import public


@public
def _not_yet(request, **kwargs):
    raise Http404


resource_download = resource_export = _not_yet
