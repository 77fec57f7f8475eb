import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.settings")
application = get_wsgi_application()

# The answering robot's dictionary (jieba, about a second, longer on a busy machine) is loaded
# in the background once the server is up, so that no member's first question waits for it;
# a question asked before it is ready loads it itself (huzhu.portal.robot.segmenter).
from huzhu.portal.robot import warm_in_background  # noqa: E402

warm_in_background()
