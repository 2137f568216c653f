"""The scale benchmark (`make bench`, `manage.py bench`, `manage.py seed_bench`): a large clinic seeded on
top of the demo, each page timed against a trivial signed-in page at the demo's size and at the large
one, and the booking storm. Not part of the test run."""
