"""The catalogue's public pages. (Being written: every view answers 404 until then.)"""

from django.http import Http404

from ecitizen.core.access import public


@public
def _not_yet(request, **kwargs):
    raise Http404


dataset_search = dataset_detail = dataset_history = dataset_revision = _not_yet
resource_detail = organization_list = organization_detail = _not_yet
