"""What the chapters and the website need on top of the numbers.

One look for every figure (:mod:`.plotting`), the figures of a sweep's fits
(:mod:`.sweep_figures`), the interactive figures (:mod:`.interactive_figures`), the Sphinx
extensions that ship plotly.js with the site (:mod:`.plotly_assets`) and keep each script once
per page (:mod:`.unique_scripts`), the bibliography's
author-year labels (:mod:`.author_year_bibliography`), checks of trained numbers against the
recorded ones (:mod:`.reproduction`), and the student edition (:mod:`.student_edition`).

Imports: every layer below.
"""
