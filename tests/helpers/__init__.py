"""Test helpers, imported as ``tests.helpers.<module>``: the CLI in a subprocess (cli) or in-process (inprocess),
data trees and videos (datatrees), archives (archives), random metric weights (metric_weights, video_metric_weights)
and hostile files (hostile)."""
