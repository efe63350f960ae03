"""Pages of the people's suggestions (人民建议征集): the public side (`public`) and the staff side
(`desk`). Every rule lives in `petitiondesk.suggestions`; these views parse, call and render."""
