# Copy to instance/config.py and edit. Environment variables of the same name
# override these values.

CLINIC_NAME = "Riverside Spine Clinic"
CLINIC_PHONE = "555-0100"

# The clinic's time zone, for desk times and the handout's date. Empty: the server's.
CLINIC_TIMEZONE = "America/Chicago"

# The name the front desk sees for this kiosk.
KIOSK_NAME = "Waiting room kiosk"

# Seconds without a touch before "Are you still there?", and how long it waits.
IDLE_SECONDS = 90
IDLE_WARNING_SECONDS = 30

# Seconds the Done screen shows the claim code before it clears.
DONE_RESET_SECONDS = 30

# Handout paper: "letter" or "a4".
HANDOUT_PAPER = "letter"

# The braille handout's page, for the embosser's paper: cells a line, lines a page.
BRAILLE_CELLS = 40
BRAILLE_LINES = 25

# PostgreSQL instead of SQLite:
# SQLALCHEMY_DATABASE_URI = "postgresql+psycopg://kiosk:secret@db.example.org/kiosk"
