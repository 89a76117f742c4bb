"""Video (plus API VIDEO tasks): image-to-video clips, locally or on Amazon Nova Reel."""

# Here, not in providers.py: the submit checks them and must not import Pillow (the API
# functions run without the media layer).
SUPPORTED = ("local", "bedrock", "midjourney")
# Providers whose video jobs cannot be continued (`action:"extend"`): none of these. local and
# bedrock continue from the video's last frame; midjourney presses Discord's video U, Extend and
# answers the Remix window (providers/midjourney/extend.py).
NO_EXTEND: tuple[str, ...] = ()
