"""Video (plus API VIDEO tasks): image-to-video clips, locally or on Amazon Nova Reel."""
