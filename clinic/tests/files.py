"""What is stored under MEDIA_ROOT, for tests that check a failure left no file behind."""


def stored_files(media):
    """Every stored file's path under `media`, sorted (forward slashes)."""
    return sorted(p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file())
