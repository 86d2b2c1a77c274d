/* Keeps the support library non-empty before any helper lands. */
int fl_test_support_support_anchor;
