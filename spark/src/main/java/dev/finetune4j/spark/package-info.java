/** The finetune4j data pipeline on Apache Spark. */
package dev.finetune4j.spark;
