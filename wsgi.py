"""What gunicorn (and ``flask --app wsgi``) serves: the app built from the environment."""

import logging

from app import create_app

# Portcullis' own log lines (delivery to the outbox, unexpected errors) go to
# stderr beside gunicorn's, unless the deployment configured logging itself.
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logging.getLogger("alembic").setLevel(logging.WARNING)

app = create_app()
