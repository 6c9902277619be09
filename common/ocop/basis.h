/*
 * basis.h: consistency between a dossier's legal basis, its product's set and
 * the rubric that scores it. Every place that names them (dossier add and
 * set, evaluation add) asks this one function, so a dossier under QĐ 148/2023
 * cannot record a rubric that does not exist, and an evaluation cannot score a
 * dossier with another basis's or another set's sheet.
 */
#ifndef OCOP_OCOP_BASIS_H
#define OCOP_OCOP_BASIS_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Check that rubric `rubric_id` ("qd26-2026/07") may serve a dossier filed under
 * `basis` ("qd26-2026") for a product of set `product_set` ("07", NULL when the
 * product has none): the rubric's basis is the dossier's, its set is the
 * product's (part-level rubrics such as "qd148-2023/parts" have no set), the
 * file exists and loads, and, when `scoring` is set, it is a full tree that
 * can score sheets. data_dir holds rubrics/ (ocp_data_dir()).
 * Returns: OCOP_OK; OCOP_EINPUT (basis or set mismatch, or a basis that ships
 * no sheets for the set) or OCOP_ERUBRIC (outline, or a file that does not
 * validate) with a sentence for the clerk in err; OCOP_ENOMEM.
 */
int ocp_basis_check(const char *data_dir, const char *basis, const char *product_set,
    const char *rubric_id, bool scoring, char *err, size_t errlen);

#endif /* OCOP_OCOP_BASIS_H */
