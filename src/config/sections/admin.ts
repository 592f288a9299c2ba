// Placeholder: the admin section is defined with the admin API (src/admin).
import { obj } from '../validate.ts';

export const adminSection = () => obj({});
